// weft/sched/spawn_options.hpp: per-task options given at spawn time.
//
//   rt.spawn(weft::SpawnOptions{.name = "acceptor"}, [] { ... });
#pragma once

#include <string>

namespace weft {

// SpawnOptions: `name` shows in stack-overflow reports and (later) task dumps.
struct SpawnOptions {
  std::string name;
};

}  // namespace weft
