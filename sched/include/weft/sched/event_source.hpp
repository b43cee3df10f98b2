// weft/sched/event_source.hpp: a counting wake-up source backed by an eventfd.
//
// notify() adds to a counter from any thread; wait()/try_consume() take the whole count. The fd is
// what a worker's driver waits on (poll, epoll, or an io_uring read) so a write from another thread
// ends that wait. Counting semantics: no notify is lost, several may be consumed at once.
//
// Thread-safety: notify() from any thread; wait()/try_consume() by one consumer at a time.
//
//   weft::sched::EventSource ev;          // throws std::system_error if eventfd() fails
//   ev.notify();                          // from another thread
//   std::uint64_t n = ev.wait();          // n >= 1
#pragma once

#include <cstdint>

namespace weft::sched {

// EventSource: a non-blocking eventfd with notify/wait.
class EventSource {
 public:
  EventSource();  // throws std::system_error on eventfd failure (e.g. EMFILE)
  ~EventSource();
  EventSource(const EventSource&) = delete;
  EventSource& operator=(const EventSource&) = delete;

  // notify: adds n to the counter, waking a waiter. Never blocks (a saturated counter is full of
  // pending wake-ups already, so the overflow error is ignored).
  void notify(std::uint64_t n = 1) noexcept;
  // try_consume: takes and returns the counter, 0 when nothing was pending. Never blocks.
  std::uint64_t try_consume() noexcept;
  // wait: blocks the calling thread until the counter is non-zero, then takes it.
  std::uint64_t wait() noexcept;
  int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace weft::sched
