// metrics_table.hpp: prints a Runtime's Metrics (weft/runtime/metrics.hpp) as a small aligned
// table, for the examples' --metrics switch and scripts/demo.
#pragma once

#include <weft/weft.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

namespace weft::examples {

// print_metrics: `m` (usually the difference of two snapshots) as "name  value" rows on stdout,
// with the rows of the backend the runtime runs.
inline void print_metrics(const char* program, const weft::Metrics& m) {
  auto row = [](const char* name, std::uint64_t v) {
    std::printf("  %-28s %12llu\n", name, static_cast<unsigned long long>(v));
  };
  std::printf("%s: runtime metrics (%s backend, %u workers)\n", program, std::string(weft::io::to_string(m.backend)).c_str(),
              m.workers);
  row("tasks started", m.tasks_started);
  row("tasks finished", m.tasks_finished);
  row("fiber resumes", m.resumes);
  row("tasks stolen", m.steals);
  row("worker parks", m.parks);
  row("remote wake-ups", m.wakeups);
  if (m.backend == weft::Backend::io_uring) {
    row("SQEs submitted", m.sqes_submitted);
    row("io_uring_enter calls", m.uring_enters);
    row("CQEs reaped", m.cqes_reaped);
    std::printf("  %-28s %12.3f\n", "syscalls per op (enter/SQE)", m.syscalls_per_op());
  } else {
    row("epoll_wait calls", m.epoll_waits);
    row("epoll_ctl calls", m.epoll_ctls);
    row("ops on the blocking pool", m.pool_ops);
    std::printf("  %-28s %12.3f\n", "syscalls per op (w+c/ops)", m.syscalls_per_op());
  }
}

}  // namespace weft::examples
