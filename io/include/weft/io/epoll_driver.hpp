// weft/io/epoll_driver.hpp: the epoll backend, for where io_uring is unavailable.
//
// Each worker owns one epoll instance as its parking driver, with the same operations and
// semantics as the ring (weft/io/ops.hpp): an operation first tries the non-blocking form of its
// syscall; on EAGAIN the fiber waits for readiness in its worker's epoll and retries. What epoll
// cannot wait for (regular files, openat, statx, fsync, rename, ...) runs on the runtime's blocking
// pool and wakes the fiber through its worker's inbox. Deadlines are the worker's timers; remote
// wake-ups an eventfd in the epoll set.
//
// Differences a user may notice (docs/io.md): accept() puts the listening socket into non-blocking
// mode (accept4 has no per-call flag); an operation running on the blocking pool is not
// interrupted by cancellation or its deadline: it returns its own result when it finishes.
//
// Thread-safety: as for the ring; unpark() and cancel forwarding from any thread.
//
//   weft::sched::Scheduler::Options o;
//   o.driver_factory = [](unsigned) { return weft::io::make_epoll_driver(); };
#pragma once

#include <weft/sched/driver.hpp>

#include <cstdint>
#include <memory>

namespace weft::io {

// make_epoll_driver: an epoll instance and its wake-up eventfd. Throws std::system_error with the
// errno of epoll_create1/eventfd (EMFILE, ENOMEM).
std::unique_ptr<sched::Driver> make_epoll_driver();

// EpollStats: counters of the calling worker's epoll backend (zero elsewhere).
struct EpollStats {
  std::uint64_t waits = 0;      // epoll_wait calls
  std::uint64_t ctls = 0;       // epoll_ctl calls (arming a readiness wait)
  std::uint64_t readiness = 0;  // readiness waits completed by an event
  std::uint64_t pool_ops = 0;   // operations sent to the blocking pool
};
EpollStats current_epoll_stats() noexcept;

}  // namespace weft::io
