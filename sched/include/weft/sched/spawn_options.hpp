// weft/sched/spawn_options.hpp: per-task options given at spawn time.
//
//   rt.spawn(weft::SpawnOptions{.name = "acceptor", .token = stop.token()}, [] { ... });
#pragma once

#include <weft/sched/cancellation.hpp>

#include <cstddef>
#include <string>

namespace weft {

// SpawnOptions: `name` shows in stack-overflow and stall reports and shutdown reports; `token`
// cancels the task when it is cancelled (weft/sched/cancellation.hpp; a default token never does).
// `stack_size`: usable bytes of this task's stack; 0 takes Config::stack_size. Otherwise at least
// 16 KiB and at most 1 GiB (spawn throws std::system_error with EINVAL outside that), rounded up to
// a power of two. Virtual, like the default: a task pays RSS only for the pages it touches (a
// parked fiber about 4 KiB), so a smaller stack saves address space, not memory; a bigger one lets
// deep recursion run in a fiber. A task that overflows its stack is reported by name.
struct SpawnOptions {
  std::string name{};
  CancellationToken token{};
  std::size_t stack_size = 0;
};

}  // namespace weft
