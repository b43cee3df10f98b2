// sync_bench: weft::Mutex against std::mutex, measured in the same run, with the ratios printed at
// the end.
//   BM_Uncontended/{weft,std}    lock + unlock on one thread, nobody else touches the mutex
//   BM_ContendedWeft8Fibers2W    8 fibers on 2 workers, each incrementing a shared counter under a
//                                weft::Mutex (kPerWorker increments each)
//   BM_ContendedStd8Threads      8 std::threads doing the same under a std::mutex
//   BM_ContendedWeft8Threads     8 std::threads under a weft::Mutex (plain-thread waiters)
// Items are lock/unlock pairs; the ratios compare items/s (higher is better for weft).
#include "mutex_increments.hpp"

#include <weft/weft.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kPerWorker = 200'000;
constexpr int kWorkers = 8;

template <class M>
void BM_Uncontended(benchmark::State& state) {
  // A live runtime (idle workers) so that both run in a multi-threaded process: glibc takes cheaper
  // paths while a process has a single thread, which a weft program never is.
  weft::Runtime rt{weft::Config{.workers = 2}};
  M m;
  long counter = 0;
  for (auto _ : state) {
    m.lock();
    ++counter;
    m.unlock();
  }
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Uncontended<weft::Mutex>)->Name("BM_Uncontended/weft");
BENCHMARK(BM_Uncontended<std::mutex>)->Name("BM_Uncontended/std");

void BM_ContendedWeft8Fibers2W(benchmark::State& state) {
  weft::Runtime rt{weft::Config{.workers = 2}};
  weft::Mutex m;
  long counter = 0;
  for (auto _ : state) weft::bench::increment_under_lock(rt, m, counter, kWorkers, kPerWorker);
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations() * kWorkers * kPerWorker);
}
BENCHMARK(BM_ContendedWeft8Fibers2W)->Unit(benchmark::kMillisecond)->UseRealTime();

template <class M>
void BM_Contended8Threads(benchmark::State& state) {
  M m;
  long counter = 0;
  for (auto _ : state) {
    std::vector<std::thread> ts;
    for (int t = 0; t < kWorkers; ++t) {
      ts.emplace_back([&] {
        for (int i = 0; i < kPerWorker; ++i) {
          std::scoped_lock lock(m);
          ++counter;
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations() * kWorkers * kPerWorker);
}
BENCHMARK(BM_Contended8Threads<std::mutex>)->Name("BM_ContendedStd8Threads")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Contended8Threads<weft::Mutex>)->Name("BM_ContendedWeft8Threads")->Unit(benchmark::kMillisecond)->UseRealTime();

// RatioReporter: the console output, plus items/s per benchmark for the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      auto it = r.counters.find("items_per_second");
      if (it != r.counters.end()) items_per_s[r.benchmark_name()] = it->second.value;
    }
  }
  std::map<std::string, double> items_per_s;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  auto ratio = [&](const char* what, const std::string& a, const std::string& b) {
    auto ia = reporter.items_per_s.find(a), ib = reporter.items_per_s.find(b);
    if (ia == reporter.items_per_s.end() || ib == reporter.items_per_s.end()) return;
    std::printf("%-56s %6.2fx  (%.1f M/s vs %.1f M/s)\n", what, ia->second / ib->second, ia->second / 1e6,
                ib->second / 1e6);
  };
  ratio("uncontended: weft::Mutex / std::mutex (items/s)", "BM_Uncontended/weft", "BM_Uncontended/std");
  ratio("contended: 8 fibers on 2 workers / 8 threads std::mutex", "BM_ContendedWeft8Fibers2W/real_time",
        "BM_ContendedStd8Threads/real_time");
  ratio("contended: 8 threads weft::Mutex / 8 threads std::mutex", "BM_ContendedWeft8Threads/real_time",
        "BM_ContendedStd8Threads/real_time");
  benchmark::Shutdown();
  return 0;
}
