// mutex_increments.hpp: the contended-mutex workload of the sync issue, shared by bench/sync_bench
// (against std::mutex with plain threads) and bench/workloads mutex_contended (against Go and
// Tokio), so both measure the same loop: `tasks` fibers spawned on `rt` each increment one counter
// `per_task` times, each increment under `m`. Returns when every fiber has finished.
#pragma once

#include <weft/weft.hpp>

#include <mutex>
#include <vector>

namespace weft::bench {

inline void increment_under_lock(weft::Runtime& rt, weft::Mutex& m, long& counter, int tasks, long per_task) {
  std::vector<weft::JoinHandle<void>> fibers;
  for (int t = 0; t < tasks; ++t) {
    fibers.push_back(rt.spawn([&m, &counter, per_task] {
      for (long i = 0; i < per_task; ++i) {
        std::scoped_lock lock(m);
        ++counter;
      }
    }));
  }
  for (auto& f : fibers) f.join();
}

}  // namespace weft::bench
