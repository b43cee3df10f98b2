// weft/sched/spawn_options.hpp: per-task options given at spawn time.
//
//   rt.spawn(weft::SpawnOptions{.name = "acceptor", .token = stop.token()}, [] { ... });
#pragma once

#include <weft/sched/cancellation.hpp>

#include <string>

namespace weft {

// SpawnOptions: `name` shows in stack-overflow and stall reports and shutdown reports; `token`
// cancels the task when it is cancelled (weft/sched/cancellation.hpp; a default token never does).
struct SpawnOptions {
  std::string name{};
  CancellationToken token{};
};

}  // namespace weft
