// eventfd_driver.cpp: the scheduler's own Driver: ppoll() on an EventSource with the timer
// deadline as timeout. io/ replaces it with the ring (or epoll) of the worker.
#include <weft/sched/driver.hpp>
#include <weft/sched/event_source.hpp>
#include <weft/sched/timespec.hpp>

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
      const auto ts = timespec_until<timespec>(deadline);
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
