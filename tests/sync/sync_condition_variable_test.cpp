// ConditionVariable: a producer/consumer queue across fibers and threads, FIFO notify_one,
// notify_all, timed waits (cv_status, predicate forms, other clocks) with the lock held again,
// and cancellation (throwing form and Result form) with the lock held again.
#include "sync/sync_test_util.hpp"

#include <weft/sync/condition_variable.hpp>

#include <atomic>
#include <deque>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class SyncConditionVariable : public test::WorkerCountTest {};

TEST_P(SyncConditionVariable, ProducerConsumerAcrossFibersAndThreads) {
  Runtime rt{config()};
  Mutex m;
  ConditionVariable not_empty;
  std::deque<long> items;  // under m
  bool closed = false;     // under m
  const long per = static_cast<long>(test::scaled(5'000));
  auto consume = [&] {
    long sum = 0;
    std::unique_lock lock(m);
    for (;;) {
      not_empty.wait(lock, [&] { return !items.empty() || closed; });
      if (items.empty()) return sum;
      sum += items.front();
      items.pop_front();
    }
  };
  auto produce = [&] {
    for (long i = 1; i <= per; ++i) {
      {
        std::scoped_lock lock(m);
        items.push_back(i);
      }
      not_empty.notify_one();
    }
  };
  std::vector<JoinHandle<long>> consumers;
  for (int c = 0; c < 3; ++c) consumers.push_back(rt.spawn(consume));
  long thread_sum = 0;
  std::thread consumer_thread([&] { thread_sum = consume(); });
  std::vector<JoinHandle<void>> producers;
  for (int p = 0; p < 2; ++p) producers.push_back(rt.spawn(produce));
  std::thread producer_thread(produce);
  for (auto& p : producers) p.join();
  producer_thread.join();
  {
    std::scoped_lock lock(m);
    closed = true;
  }
  not_empty.notify_all();
  long total = 0;
  for (auto& c : consumers) total += c.join();
  consumer_thread.join();
  total += thread_sum;
  EXPECT_EQ(total, 3 * per * (per + 1) / 2);
}

TEST_P(SyncConditionVariable, NotifyOneWakesTheOldestWaiterOnlyAndNotifyAllTheRest) {
  Runtime rt{config()};
  Mutex m;
  ConditionVariable cv;
  std::vector<int> woke;  // under m
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < 3; ++i) {
    hs.push_back(rt.spawn([&, i] {
      std::unique_lock lock(m);
      cv.wait(lock);
      woke.push_back(i);
    }));
    ASSERT_TRUE(test::waiters_reach(cv, static_cast<std::size_t>(i) + 1));
  }
  cv.notify_one();
  hs[0].join();
  EXPECT_EQ(cv.waiters(), 2u);
  cv.notify_all();
  hs[1].join();
  hs[2].join();
  EXPECT_EQ(woke.front(), 0);
  EXPECT_EQ(woke.size(), 3u);
  cv.notify_one();  // nobody waits: nothing happens
  cv.notify_all();
}

TEST_P(SyncConditionVariable, TimedWaitsExpireWithTheLockHeld) {
  Runtime rt{config()};
  Mutex m;
  ConditionVariable cv;
  auto check = [&] {
    std::unique_lock lock(m);
    EXPECT_EQ(cv.wait_for(lock, 2ms), std::cv_status::timeout);
    EXPECT_TRUE(lock.owns_lock());
    EXPECT_TRUE(m.is_locked());
    EXPECT_EQ(cv.wait_until(lock, std::chrono::system_clock::now() + 2ms), std::cv_status::timeout);
    EXPECT_FALSE(cv.wait_for(lock, 2ms, [] { return false; }));
    EXPECT_TRUE(cv.wait_for(lock, 2ms, [] { return true; }));
    EXPECT_FALSE(cv.wait_until(lock, std::chrono::steady_clock::now() - 1s, [] { return false; }));
    EXPECT_TRUE(m.is_locked());
  };
  rt.block_on(check);
  check();  // plain thread
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(cv.waiters(), 0u);
}

TEST_P(SyncConditionVariable, TimedWaitWokenInTime) {
  Runtime rt{config()};
  Mutex m;
  ConditionVariable cv;
  bool ready = false;
  auto h = rt.spawn([&] {
    std::unique_lock lock(m);
    return cv.wait_for(lock, std::chrono::hours(1), [&] { return ready; });
  });
  ASSERT_TRUE(test::waiters_reach(cv, 1));
  {
    std::scoped_lock lock(m);
    ready = true;
  }
  cv.notify_one();
  EXPECT_TRUE(h.join());
}

TEST_P(SyncConditionVariable, CancellationThrowsOrReturnsWithTheLockHeld) {
  Runtime rt{config()};
  Mutex m;
  ConditionVariable cv;
  auto thrower = rt.spawn([&]() -> std::string {
    std::unique_lock lock(m);
    try {
      cv.wait(lock, [] { return false; });
      return "returned";
    } catch (const std::system_error& e) {
      if (e.code() != errc::cancelled) return "wrong error";
      return lock.owns_lock() && m.is_locked() ? "cancelled, locked" : "cancelled, not locked";
    }
  });
  auto timed = rt.spawn([&]() -> std::string {
    std::unique_lock lock(m);
    try {
      (void)cv.wait_for(lock, std::chrono::hours(1));
      return "returned";
    } catch (const std::system_error& e) {
      return e.code() == errc::cancelled && m.is_locked() ? "cancelled, locked" : "wrong";
    }
  });
  auto result = rt.spawn([&] {
    std::unique_lock lock(m);
    auto r = cv.wait_cancellable(lock);
    return test::is_cancelled(r) && m.is_locked();
  });
  ASSERT_TRUE(test::waiters_reach(cv, 3));
  thrower.cancel();
  timed.cancel();
  result.cancel();
  EXPECT_EQ(thrower.join(), "cancelled, locked");
  EXPECT_EQ(timed.join(), "cancelled, locked");
  EXPECT_TRUE(result.join());
  EXPECT_EQ(cv.waiters(), 0u);
  EXPECT_FALSE(m.is_locked());
  // Not cancelled: wait_cancellable returns normally on notify.
  auto ok = rt.spawn([&] {
    std::unique_lock lock(m);
    return cv.wait_cancellable(lock).has_value();
  });
  ASSERT_TRUE(test::waiters_reach(cv, 1));
  cv.notify_all();
  EXPECT_TRUE(ok.join());
}

INSTANTIATE_WORKER_COUNTS(SyncConditionVariable);

}  // namespace
}  // namespace weft
