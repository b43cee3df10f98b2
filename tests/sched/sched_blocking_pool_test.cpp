// The blocking pool runs jobs on threads of its own, as many at once as it has threads, and its
// destructor waits for jobs still running.
#include <weft/sched/blocking_pool.hpp>

#include "support/test_support.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <thread>

namespace {

using namespace std::chrono_literals;

// RendezvousJob: returns only once `expected` jobs are inside run() at the same time (or after a
// bound, recording the failure), so the test proves concurrency without timing anything.
struct RendezvousJob final : weft::sched::BlockingJob {
  std::atomic<int>* inside = nullptr;
  std::atomic<int>* finished = nullptr;
  int expected = 0;
  bool met = false;
  void run() noexcept override {
    inside->fetch_add(1);
    met = weft::test::eventually([&] { return inside->load() >= expected; }, 20s);
    finished->fetch_add(1);
  }
};

TEST(SchedBlockingPool, RunsAsManyJobsAtOnceAsItHasThreads) {
  std::atomic<int> inside{0}, finished{0};
  std::array<RendezvousJob, 4> jobs;
  {
    weft::sched::BlockingPool pool(4);
    EXPECT_EQ(pool.threads(), 4u);
    for (auto& j : jobs) {
      j.inside = &inside;
      j.finished = &finished;
      j.expected = 4;
      pool.submit(j);
    }
  }  // the destructor waits for all four
  EXPECT_EQ(finished.load(), 4);
  for (auto& j : jobs) EXPECT_TRUE(j.met);
}

struct SlowJob final : weft::sched::BlockingJob {
  std::atomic<bool> done{false};
  void run() noexcept override {
    std::this_thread::sleep_for(50ms);
    done.store(true);
  }
};

TEST(SchedBlockingPool, DestructorWaitsForRunningJobs) {
  SlowJob job;
  {
    weft::sched::BlockingPool pool(1);
    pool.submit(job);
  }
  EXPECT_TRUE(job.done.load());
}

TEST(SchedBlockingPool, SchedulerOwnsOneSizedFromItsOptions) {
  weft::Runtime rt(weft::Config{.workers = 2});
  EXPECT_EQ(rt.scheduler().blocking_pool().threads(), 8u);  // 4 per worker by default
}

}  // namespace
