// hello_spawn: spawn thousands of tasks from main, join them, print the result.
//
//   hello_spawn [--tasks N] [--workers N] [--metrics]
//
// Each task sleeps a little (so they overlap: a sleeping fiber costs no thread) and returns its
// share of a sum; main joins every handle in order and prints the total with how long it took.
// --metrics adds the runtime's counters for the run (tasks, steals, parks, IO syscalls).
#include "flags.hpp"
#include "metrics_table.hpp"

#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <vector>


int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const unsigned long tasks = weft::examples::flag(argc, argv, "--tasks", 10000);
  const auto workers = static_cast<unsigned>(weft::examples::flag(argc, argv, "--workers", 0));

  const bool metrics = weft::examples::has_flag(argc, argv, "--metrics");

  weft::Runtime rt{weft::Config{.workers = workers}};
  const weft::Metrics before = rt.metrics();
  const auto t0 = std::chrono::steady_clock::now();

  std::vector<weft::JoinHandle<unsigned long>> handles;
  handles.reserve(tasks);
  for (unsigned long i = 0; i < tasks; ++i) {
    handles.push_back(rt.spawn([i] {
      weft::sleep_for(std::chrono::milliseconds(i % 10)).value();  // throws if cancelled
      return i;
    }));
  }
  unsigned long sum = 0;
  for (auto& h : handles) sum += h.join();

  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("hello_spawn: %lu tasks on %u workers summed to %lu (expected %lu) in %.1f ms\n", tasks,
              rt.workers(), sum, tasks * (tasks - 1) / 2, ms);
  if (metrics) weft::examples::print_metrics("hello_spawn", rt.metrics() - before);
  return sum == tasks * (tasks - 1) / 2 ? 0 : 1;
}
