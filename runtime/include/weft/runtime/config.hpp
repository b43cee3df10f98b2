// weft/runtime/config.hpp: how a Runtime is built.
//
//   weft::Runtime rt{weft::Config{.workers = 4, .stack_size = 512 * 1024}};
//   weft::Runtime ep{weft::Config{.backend = weft::Backend::epoll}};
#pragma once

#include <weft/io/backend.hpp>
#include <weft/sched/shutdown_report.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace weft {

// Backend: automatic (io_uring where the kernel allows it, else epoll), io_uring or epoll; see
// weft/io/backend.hpp. The WEFT_BACKEND environment variable overrides Config::backend.
using Backend = io::Backend;

// ShutdownReport: what a shutdown with a deadline left unfinished (weft/sched/shutdown_report.hpp).
using ShutdownReport = sched::ShutdownReport;

// Config: every field has a working default.
struct Config {
  // workers: worker threads (one io_uring ring or epoll instance each). 0: one per core the
  // process may run on.
  unsigned workers = 0;
  // stack_size: usable bytes per fiber stack (virtual; pages are committed as the fiber touches
  // them). At least 16 KiB. A fiber that overflows it is reported by name, never corrupts memory.
  std::size_t stack_size = 256 * 1024;
  // backend: which IO backend the workers run. A backend named explicitly that is unavailable
  // makes the Runtime constructor throw; automatic falls back to epoll and says why, once.
  Backend backend = Backend::automatic;
  // blocking_threads: threads of the pool that runs weft::spawn_blocking work (started on first
  // use). 0: four per worker. Blocking work beyond this many jobs at once waits in the pool's queue.
  unsigned blocking_threads = 0;
  // stall_threshold: a fiber that runs this long without suspending (a CPU loop, a blocking call
  // that belongs in spawn_blocking) is reported once on stderr with its id, name and worker, and
  // counted in WorkerStats::stalls. Zero disables the reports. Must not be negative. (With more
  // than one worker the same monitor thread also hands the fibers that wait behind such a fiber to
  // idle workers, whatever this is: docs/architecture.md, "Stalls".)
  std::chrono::milliseconds stall_threshold{100};
  // sched_seed: non-zero turns on the seeded shuffle mode for tests (docs/guide.md, "Replaying a
  // failing interleaving"): the scheduler makes its choices (which runnable fiber next, which
  // worker to steal from, extra yields around parks, where a woken fiber runs) from this seed, so
  // the same seed on one worker replays the same interleaving of yields, channels and sync
  // primitives. Slower and deliberately unfair; for tests only. 0: off (the default scheduling).
  // The WEFT_SCHED_SEED environment variable overrides it (a value that is not a decimal number
  // makes the Runtime constructor throw).
  std::uint64_t sched_seed = 0;
  // shutdown_timeout: how long the destructor (and shutdown()) waits for the tasks it cancelled
  // before it reports those still running through on_shutdown_report. It then goes on waiting for
  // them: a stack a fiber runs on is never freed. Must not be negative.
  std::chrono::milliseconds shutdown_timeout{5000};
  // on_shutdown_report: called once, on the destroying thread, with what shutdown_timeout left
  // unfinished (never for a shutdown that completed in time). Empty: one line on stderr,
  // `weft: shutdown: 2 tasks did not finish: #41 "conn", #7 ... within 5000 ms of being
  // cancelled; waiting for them`. Must not throw (it runs in the destructor).
  std::function<void(const ShutdownReport&)> on_shutdown_report{};
};

}  // namespace weft
