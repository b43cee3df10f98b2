// seed_listener.cpp: linked into every test binary (tests/CMakeLists.txt, weft_test_seed). When the
// suite runs under WEFT_SCHED_SEED (the scheduler's seeded shuffle mode), each failed test prints
// the line that replays it:
//   weft: failed with WEFT_SCHED_SEED=<n> (<suite>.<test>)
// so a failure found by a seed sweep in CI can be run again with the same interleaving (with one
// worker exactly; docs/guide.md, "Replaying a failing interleaving"). Registered from a static
// initialiser, before gtest_main's RUN_ALL_TESTS; an object library, so the linker keeps it.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace {

class SeedListener : public ::testing::EmptyTestEventListener {
 public:
  explicit SeedListener(const char* seed) : seed_(seed) {}

  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!info.result()->Failed()) return;
    std::fprintf(stderr, "weft: failed with WEFT_SCHED_SEED=%s (%s.%s)\n", seed_, info.test_suite_name(), info.name());
    std::fflush(stderr);
  }

 private:
  const char* seed_;
};

const bool registered = [] {
  const char* seed = std::getenv("WEFT_SCHED_SEED");
  if (seed && *seed) ::testing::UnitTest::GetInstance()->listeners().Append(new SeedListener(seed));
  return true;
}();

}  // namespace
