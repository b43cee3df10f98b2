// weft_bench: Google Benchmark micro benchmarks, each beside the baseline it is judged against.
//   BM_RawFiberSwitch   raw boost::context::fiber switch (bench/baseline), the limit
//   BM_YieldPing        two weft fibers on one worker yielding to each other: ns per switch
//   BM_SpawnJoin        spawn + join of a tiny task from main, per worker count
#include "baseline/raw_switch.hpp"

#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <vector>

namespace {

void BM_RawFiberSwitch(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(weft::bench::raw_switch_ns(2'000'000));
  }
  state.SetItemsProcessed(state.iterations() * 2'000'000);
}
BENCHMARK(BM_RawFiberSwitch)->Unit(benchmark::kMillisecond);

void BM_YieldPing(benchmark::State& state) {
  weft::Runtime rt{weft::Config{.workers = 1}};
  constexpr int kYields = 1'000'000;
  for (auto _ : state) {
    rt.block_on([] {
      auto a = weft::spawn([] {
        for (int i = 0; i < kYields; ++i) weft::this_fiber::yield();
      });
      auto b = weft::spawn([] {
        for (int i = 0; i < kYields; ++i) weft::this_fiber::yield();
      });
      a.join();
      b.join();
    });
  }
  state.SetItemsProcessed(state.iterations() * 2 * kYields);
}
BENCHMARK(BM_YieldPing)->Unit(benchmark::kMillisecond);

void BM_SpawnJoin(benchmark::State& state) {
  weft::Runtime rt{weft::Config{.workers = static_cast<unsigned>(state.range(0))}};
  constexpr int kTasks = 100'000;
  std::vector<weft::JoinHandle<void>> hs;
  hs.reserve(kTasks);
  std::atomic<int> n{0};
  for (auto _ : state) {
    for (int i = 0; i < kTasks; ++i) hs.push_back(rt.spawn([&n] { n.fetch_add(1, std::memory_order_relaxed); }));
    for (auto& h : hs) h.join();
    hs.clear();
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_SpawnJoin)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
