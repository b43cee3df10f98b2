// eventfd_driver.cpp: the scheduler's own Driver: ppoll() on an EventSource with the timer
// deadline as timeout. io/ replaces it with the ring (or epoll) of the worker.
#include <weft/sched/driver.hpp>
#include <weft/sched/event_source.hpp>

#include <poll.h>

#include <chrono>

namespace weft::sched {
namespace {

class EventFdDriver final : public Driver {
 public:
  void park(std::chrono::steady_clock::time_point deadline) override {
    pollfd p{events_.fd(), POLLIN, 0};
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      ::ppoll(&p, 1, nullptr, nullptr);
    } else {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left < left.zero()) left = left.zero();
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
      ::ppoll(&p, 1, &ts, nullptr);
    }
    events_.try_consume();
  }

  void unpark() noexcept override { events_.notify(); }

 private:
  EventSource events_;
};

}  // namespace

std::unique_ptr<Driver> make_eventfd_driver() { return std::make_unique<EventFdDriver>(); }

}  // namespace weft::sched
