// test_support.hpp: shared helpers for weft's tests.
//
// - WorkerCountTest: a parameterised fixture; INSTANTIATE_WORKER_COUNTS runs a suite at 1, 2 and
//   4 workers (the matrix; 4 oversubscribes a 2-core machine on purpose).
// - scaled(n): shrinks heavy loops under the sanitizers, which run 5-20x slower.
// - rss_bytes(): the process's resident set, for tests that count memory.
// - eventually(pred, timeout): polls a condition with a generous bound, so a test waits for an
//   observable behaviour without asserting on timing.
// - shuffled(): whether the suite runs under WEFT_SCHED_SEED (the scheduler's seeded shuffle mode,
//   which deliberately changes run order, placement and fairness); WEFT_SKIP_IF_SHUFFLED(why) skips
//   a test whose assertion is about the default scheduling policy itself. Not for hiding races.
#pragma once

#include <weft/weft.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

namespace weft::test {

constexpr std::size_t scaled(std::size_t n) {
#if defined(WEFT_TSAN)
  return n / 20 ? n / 20 : 1;
#elif defined(WEFT_ASAN)
  return n / 5 ? n / 5 : 1;
#else
  return n;
#endif
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

inline bool shuffled() {
  const char* seed = std::getenv("WEFT_SCHED_SEED");
  return seed && *seed && std::string_view(seed) != "0";
}

// rss_bytes: the process's resident set (/proc/self/statm), 0 if unreadable.
inline std::uint64_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

class WorkerCountTest : public ::testing::TestWithParam<unsigned> {
 protected:
  Config config() const { return Config{.workers = GetParam()}; }
};

inline std::string worker_count_name(const ::testing::TestParamInfo<unsigned>& info) {
  // Appended, not `"w" + std::to_string(...)`: GCC 12 at -O3 warns falsely (-Wrestrict) on that.
  std::string name = "w";
  name += std::to_string(info.param);
  return name;
}

}  // namespace weft::test

#define WEFT_SKIP_IF_SHUFFLED(why) \
  if (!::weft::test::shuffled()) {                                                   \
  } else                                                                             \
    GTEST_SKIP() << "WEFT_SCHED_SEED shuffle mode: " << (why)

#define INSTANTIATE_WORKER_COUNTS(Suite) \
  INSTANTIATE_TEST_SUITE_P(Workers, Suite, ::testing::Values(1u, 2u, 4u), ::weft::test::worker_count_name)
