// weft/sched/shutdown_report.hpp: what a shutdown with a deadline left unfinished.
//
// Returned by Runtime::shutdown(deadline) / Scheduler::shutdown_until(), and handed to
// Config::on_shutdown_report when a Runtime's destructor gives up waiting at its shutdown timeout.
//
//   if (auto r = rt.shutdown_for(2s); !r.complete()) std::fprintf(stderr, "%s\n", describe(r).c_str());
#pragma once

#include <weft/sched/task.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace weft::sched {

struct ShutdownReport {
  struct Task {
    FiberId id = 0;
    std::string name;  // "" when unnamed
  };
  // unfinished: tasks spawned and not finished at the deadline (0: the shutdown completed).
  std::uint64_t unfinished = 0;
  // tasks: those of them that weft can name: every task that has parked at least once, was named
  // or asked for its token (newest first), then the ones running on a worker right now. Tasks that
  // never started, or only ever yielded, are counted in `unfinished` but not listed.
  std::vector<Task> tasks;
  // complete: true when nothing was left running (the workers are stopped and joined).
  bool complete() const noexcept { return unfinished == 0; }
};

// describe: one line for a log, e.g. `2 tasks did not finish: #41 "conn", #7 "acceptor"` (at most
// the first 20 listed; "the shutdown completed" for a complete report).
std::string describe(const ShutdownReport& report);

}  // namespace weft::sched
