// WaitGroup and Latch: waiting for fibers and threads to finish, zero counts, reuse, timeouts,
// cancellation.
#include "sync/sync_test_util.hpp"

#include <weft/sync/latch.hpp>
#include <weft/sync/wait_group.hpp>

#include <atomic>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class SyncWaitGroup : public test::WorkerCountTest {};

TEST_P(SyncWaitGroup, WaitsForFibersAndThreads) {
  Runtime rt{config()};
  WaitGroup wg;
  EXPECT_TRUE(wg.wait().has_value());  // zero: returns at once
  long work[10] = {};                  // written by each worker, read after wait(): wait orders it
  for (int i = 0; i < 8; ++i) {
    wg.add(1);
    rt.spawn([&, i] {
      (void)sleep_for(1ms);
      work[i] = i + 1;
      wg.done();
    }).detach();
  }
  wg.add(2);
  std::thread t1([&] { work[8] = 9; wg.done(); });
  std::thread t2([&] { work[9] = 10; wg.done(); });
  auto waiter = rt.spawn([&] {
    if (!wg.wait()) return -1L;
    long s = 0;
    for (long v : work) s += v;
    return s;
  });
  ASSERT_TRUE(wg.wait().has_value());
  long s = 0;
  for (long v : work) s += v;
  EXPECT_EQ(s, 55);
  EXPECT_EQ(waiter.join(), 55);
  t1.join();
  t2.join();
  EXPECT_EQ(wg.count(), 0);
  // Reuse.
  wg.add(3);
  auto w2 = rt.spawn([&] { return wg.wait().has_value(); });
  ASSERT_TRUE(test::waiters_reach(wg, 1));
  wg.add(-2);
  EXPECT_EQ(wg.waiters(), 1u);
  wg.done();
  EXPECT_TRUE(w2.join());
}

TEST_P(SyncWaitGroup, TimeoutAndCancellation) {
  Runtime rt{config()};
  WaitGroup wg;
  wg.add(1);
  EXPECT_TRUE(test::is_timed_out(rt.block_on([&] { return wg.wait_for(2ms); })));
  EXPECT_TRUE(test::is_timed_out(wg.wait_until(sync::Clock::now() + 2ms)));
  auto c = rt.spawn([&] { return wg.wait(); });
  ASSERT_TRUE(test::waiters_reach(wg, 1));
  c.cancel();
  EXPECT_TRUE(test::is_cancelled(c.join()));
  EXPECT_EQ(wg.waiters(), 0u);
  wg.done();
  EXPECT_TRUE(wg.wait_for(0ms).has_value());
}

TEST_P(SyncWaitGroup, LatchCountsDownOnce) {
  Runtime rt{config()};
  Latch latch{4};
  EXPECT_FALSE(latch.try_wait());
  EXPECT_TRUE(test::is_timed_out(latch.wait_for(1ms)));
  std::vector<JoinHandle<Result<void>>> hs;
  for (int i = 0; i < 3; ++i) hs.push_back(rt.spawn([&] { return latch.arrive_and_wait(); }));
  ASSERT_TRUE(test::waiters_reach(latch, 3));
  latch.count_down();  // the fourth arrival releases everyone
  for (auto& h : hs) EXPECT_TRUE(h.join().has_value());
  EXPECT_TRUE(latch.try_wait());
  EXPECT_TRUE(latch.wait().has_value());
  EXPECT_TRUE(rt.block_on([&] { return latch.wait_until(sync::Clock::now()).has_value(); }));
  Latch zero{0};
  EXPECT_TRUE(zero.try_wait());
  Latch two{2};
  auto c = rt.spawn([&] { return two.arrive_and_wait(); });
  ASSERT_TRUE(test::waiters_reach(two, 1));
  c.cancel();
  EXPECT_TRUE(test::is_cancelled(c.join()));
  two.count_down();  // the cancelled caller's arrival still counts
  EXPECT_TRUE(two.try_wait());
}

INSTANTIATE_WORKER_COUNTS(SyncWaitGroup);

}  // namespace
}  // namespace weft
