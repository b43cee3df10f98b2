// Semaphore: counting, bounded concurrency across fibers and threads, strict FIFO (a large request
// at the head is not overtaken), timeouts, cancellation, and re-serving the waiters behind a head
// that gives up.
#include "sync/sync_test_util.hpp"

#include <weft/sync/semaphore.hpp>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class SyncSemaphore : public test::WorkerCountTest {};

TEST_P(SyncSemaphore, CountsPermits) {
  Semaphore s{3};
  EXPECT_EQ(s.available(), 3u);
  EXPECT_TRUE(s.try_acquire(2));
  EXPECT_FALSE(s.try_acquire(2));
  EXPECT_TRUE(s.try_acquire());
  EXPECT_FALSE(s.try_acquire());
  EXPECT_TRUE(s.try_acquire(0));
  s.release(3);
  s.release(0);
  EXPECT_EQ(s.available(), 3u);
  EXPECT_TRUE(s.acquire(3).has_value());
  EXPECT_EQ(s.available(), 0u);
  EXPECT_GT(Semaphore::max(), std::size_t{1} << 40);
}

TEST_P(SyncSemaphore, BoundsConcurrencyAcrossFibersAndThreads) {
  Runtime rt{config()};
  Semaphore s{3};
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  const int per = static_cast<int>(test::scaled(3'000));
  auto body = [&] {
    for (int i = 0; i < per; ++i) {
      ASSERT_TRUE(s.acquire().has_value());
      const int now = inside.fetch_add(1) + 1;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      if (i % 16 == 0) this_fiber::yield();
      inside.fetch_sub(1);
      s.release();
    }
  };
  std::vector<JoinHandle<void>> hs;
  for (int f = 0; f < 8; ++f) hs.push_back(rt.spawn(body));
  std::thread t1(body), t2(body);
  for (auto& h : hs) h.join();
  t1.join();
  t2.join();
  EXPECT_LE(peak.load(), 3);
  EXPECT_EQ(s.available(), 3u);
  EXPECT_EQ(s.waiters(), 0u);
}

TEST_P(SyncSemaphore, LargeRequestAtTheHeadIsNotOvertaken) {
  Runtime rt{config()};
  Semaphore s{0};
  std::atomic<int> a_done{0}, b_done{0};
  auto a = rt.spawn([&] {
    auto r = s.acquire(3);
    a_done = 1;
    return r;
  });
  ASSERT_TRUE(test::waiters_reach(s, 1));
  std::thread b([&] {
    EXPECT_TRUE(s.acquire(1).has_value());
    b_done = 1;
  });
  ASSERT_TRUE(test::waiters_reach(s, 2));
  s.release(1);  // fits B, but A is ahead: nobody is served
  EXPECT_EQ(s.waiters(), 2u);
  EXPECT_FALSE(s.try_acquire(1));  // no barging past waiters either
  EXPECT_EQ(a_done.load() + b_done.load(), 0);
  s.release(2);  // now A fits (3): A is served, B still waits
  EXPECT_TRUE(a.join().has_value());
  EXPECT_EQ(s.waiters(), 1u);
  EXPECT_EQ(b_done.load(), 0);
  s.release(1);
  b.join();
  EXPECT_EQ(s.available(), 0u);
  EXPECT_EQ(s.waiters(), 0u);
}

TEST_P(SyncSemaphore, TimedAcquireExpiresAndTakesNothing) {
  Runtime rt{config()};
  Semaphore s{1};
  auto r = rt.block_on([&] { return s.acquire_for(5ms, 2); });
  EXPECT_TRUE(test::is_timed_out(r));
  EXPECT_TRUE(test::is_timed_out(s.acquire_until(std::chrono::steady_clock::now() + 2ms, 5)));  // thread
  EXPECT_TRUE(test::is_timed_out(s.acquire_for(-1ms, 2)));
  EXPECT_EQ(s.available(), 1u);
  EXPECT_EQ(s.waiters(), 0u);
  // And succeeds when permits arrive in time.
  auto w = rt.spawn([&] { return s.acquire_for(std::chrono::hours(1), 2); });
  ASSERT_TRUE(test::waiters_reach(s, 1));
  s.release();
  EXPECT_TRUE(w.join().has_value());
  EXPECT_EQ(s.available(), 0u);
}

TEST_P(SyncSemaphore, CancellationWhileWaitingTakesNothing) {
  Runtime rt{config()};
  Semaphore s{0};
  auto a = rt.spawn([&] { return s.acquire(); });
  auto b = rt.spawn([&] { return s.acquire_for(std::chrono::hours(1)); });
  ASSERT_TRUE(test::waiters_reach(s, 2));
  a.cancel();
  b.cancel();
  EXPECT_TRUE(test::is_cancelled(a.join()));
  EXPECT_TRUE(test::is_cancelled(b.join()));
  EXPECT_EQ(s.waiters(), 0u);
  s.release(2);
  EXPECT_EQ(s.available(), 2u);
  EXPECT_TRUE(s.try_acquire(2));  // the fast path works again: the waiter bit was cleared
}

TEST_P(SyncSemaphore, HeadThatGivesUpLetsTheWaitersBehindItThrough) {
  Runtime rt{config()};
  Semaphore s{2};
  auto big = rt.spawn([&] { return s.acquire(5); });  // cannot be served: blocks the line
  ASSERT_TRUE(test::waiters_reach(s, 1));
  auto small1 = rt.spawn([&] { return s.acquire(1); });
  ASSERT_TRUE(test::waiters_reach(s, 2));
  auto small2 = rt.spawn([&] { return s.acquire(1); });
  ASSERT_TRUE(test::waiters_reach(s, 3));
  EXPECT_EQ(s.available(), 2u);
  big.cancel();  // the head leaves: the two permits go to the two small requests
  EXPECT_TRUE(test::is_cancelled(big.join()));
  EXPECT_TRUE(small1.join().has_value());
  EXPECT_TRUE(small2.join().has_value());
  EXPECT_EQ(s.available(), 0u);
  // Same through a timeout: long enough that the test sees the head queued even on a loaded
  // machine (a 5 ms one could expire before the first look); small3 may queue behind it or find
  // it gone already, and gets the permit either way.
  auto big2 = rt.spawn([&] { return s.acquire_for(500ms, 2); });
  ASSERT_TRUE(test::waiters_reach(s, 1));
  auto small3 = rt.spawn([&] { return s.acquire(1); });
  s.release(1);  // not enough for the head: small3 waits behind it until the head gives up
  EXPECT_TRUE(test::is_timed_out(big2.join()));
  EXPECT_TRUE(small3.join().has_value());
  EXPECT_EQ(s.waiters(), 0u);
}

INSTANTIATE_WORKER_COUNTS(SyncSemaphore);

}  // namespace
}  // namespace weft
