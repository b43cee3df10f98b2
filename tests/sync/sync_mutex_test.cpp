// Mutex: mutual exclusion across fibers and plain threads, Lockable/TimedLockable with the std
// lock types, timed waits, cancellation, the starvation hand-off, and no starvation under a
// hammering loop.
#include "sync/sync_test_util.hpp"

#include <weft/sync/mutex.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class SyncMutex : public test::WorkerCountTest {};

TEST_P(SyncMutex, MutualExclusionFibersAndThreads) {
  Runtime rt{config()};
  Mutex m;
  long counter = 0;             // deliberately not atomic: TSan and the total check exclusion
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  const int per = static_cast<int>(test::scaled(20'000));
  auto body = [&] {
    for (int i = 0; i < per; ++i) {
      std::scoped_lock lock(m);
      if (inside.fetch_add(1, std::memory_order_relaxed) != 0) overlap = true;
      ++counter;
      inside.fetch_sub(1, std::memory_order_relaxed);
      if (i % 64 == 0) this_fiber::yield();  // a plain thread just yields its CPU
    }
  };
  std::vector<JoinHandle<void>> fibers;
  for (int f = 0; f < 8; ++f) fibers.push_back(rt.spawn(body));
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) threads.emplace_back(body);
  for (auto& h : fibers) h.join();
  for (auto& t : threads) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_EQ(counter, 10L * per);
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.waiters(), 0u);
}

TEST_P(SyncMutex, TryLockAndUniqueLock) {
  Runtime rt{config()};
  Mutex m;
  EXPECT_TRUE(m.try_lock());
  EXPECT_TRUE(m.is_locked());
  EXPECT_FALSE(rt.block_on([&] { return m.try_lock(); }));  // held by main: a fiber fails at once
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  rt.block_on([&] {
    std::unique_lock lock(m, std::try_to_lock);
    EXPECT_TRUE(lock.owns_lock());
    lock.unlock();
    EXPECT_TRUE(lock.try_lock_for(1ms));
  });
  EXPECT_FALSE(m.is_locked());
}

TEST_P(SyncMutex, ScopedLockOfTwoMutexesInOppositeOrders) {
  Runtime rt{config()};
  Mutex a, b;
  long in_both = 0;
  const int per = static_cast<int>(test::scaled(5'000));
  std::vector<JoinHandle<void>> hs;
  for (int f = 0; f < 4; ++f) {
    hs.push_back(rt.spawn([&, f] {
      for (int i = 0; i < per; ++i) {
        if (f % 2) {
          std::scoped_lock lock(a, b);
          ++in_both;
        } else {
          std::scoped_lock lock(b, a);
          ++in_both;
        }
      }
    }));
  }
  {
    std::thread t([&] {
      for (int i = 0; i < per; ++i) {
        std::scoped_lock lock(b, a);
        ++in_both;
      }
    });
    t.join();
  }
  for (auto& h : hs) h.join();
  EXPECT_EQ(in_both, 5L * per);
}

TEST_P(SyncMutex, TimedLockExpiresFromFibersAndThreads) {
  Runtime rt{config()};
  Mutex m;
  m.lock();
  auto fiber = rt.spawn([&] {
    EXPECT_FALSE(m.try_lock_for(5ms));
    EXPECT_FALSE(m.try_lock_until(std::chrono::steady_clock::now() + 5ms));
    EXPECT_FALSE(m.try_lock_until(std::chrono::system_clock::now() + 5ms));  // another clock
    EXPECT_FALSE(m.try_lock_for(-1s));                                       // already expired
    return m.lock_cancellable_for(5ms);
  });
  Result<void> from_thread;
  std::thread t([&] {
    EXPECT_FALSE(m.try_lock_for(5ms));
    from_thread = m.lock_cancellable_until(std::chrono::steady_clock::now() + 5ms);
  });
  auto r = fiber.join();
  t.join();
  EXPECT_TRUE(test::is_timed_out(r));
  EXPECT_TRUE(test::is_timed_out(from_thread));
  EXPECT_EQ(m.waiters(), 0u);  // timed-out waiters left the queue
  m.unlock();
  EXPECT_FALSE(m.is_locked());
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST_P(SyncMutex, TimedLockSucceedsWhenReleasedInTime) {
  Runtime rt{config()};
  Mutex m;
  m.lock();
  std::atomic<bool> waiting{false};
  auto h = rt.spawn([&] {
    waiting = true;
    const bool got = m.try_lock_for(std::chrono::hours(1));
    if (got) m.unlock();
    return got;
  });
  ASSERT_TRUE(test::eventually([&] { return waiting.load(); }));
  m.unlock();
  EXPECT_TRUE(h.join());
  EXPECT_FALSE(m.is_locked());
}

TEST_P(SyncMutex, CancellationWhileWaiting) {
  Runtime rt{config()};
  Mutex m;
  m.lock();
  auto a = rt.spawn([&] { return m.lock_cancellable(); });
  auto b = rt.spawn([&]() -> std::string {
    try {
      m.lock();
      m.unlock();
      return "locked";
    } catch (const std::system_error& e) {
      return e.code() == errc::cancelled ? "cancelled" : "wrong error";
    }
  });
  auto c = rt.spawn([&]() -> std::string {
    try {
      return m.try_lock_for(std::chrono::hours(1)) ? "locked" : "timed out";
    } catch (const std::system_error& e) {
      return e.code() == errc::cancelled ? "cancelled" : "wrong error";
    }
  });
  auto d = rt.spawn([&] { return m.lock_cancellable_for(std::chrono::hours(1)); });
  ASSERT_TRUE(test::waiters_reach(m, 4));
  a.cancel();
  b.cancel();
  c.cancel();
  d.cancel();
  EXPECT_TRUE(test::is_cancelled(a.join()));
  EXPECT_EQ(b.join(), "cancelled");
  EXPECT_EQ(c.join(), "cancelled");
  EXPECT_TRUE(test::is_cancelled(d.join()));
  // The mutex is consistent: still held by main, nobody queued, and usable afterwards.
  EXPECT_TRUE(m.is_locked());
  EXPECT_EQ(m.waiters(), 0u);
  auto e = rt.spawn([&] {
    std::scoped_lock lock(m);
    return 1;
  });
  ASSERT_TRUE(test::waiters_reach(m, 1));
  m.unlock();
  EXPECT_EQ(e.join(), 1);
  EXPECT_FALSE(m.is_locked());
}

TEST_P(SyncMutex, FreeMutexIsTakenEvenByACancelledFiber) {
  Runtime rt{config()};
  Mutex m;
  std::atomic<bool> started{false};
  auto h = rt.spawn([&] {
    started = true;
    while (!this_fiber::cancellation_requested()) this_fiber::yield();
    auto r = m.lock_cancellable();  // only waiting observes cancellation
    if (r) m.unlock();
    return r;
  });
  ASSERT_TRUE(test::eventually([&] { return started.load(); }));
  h.cancel();
  EXPECT_TRUE(h.join().has_value());
}

TEST_P(SyncMutex, ZeroThresholdHandsTheLockOverInFifoOrder) {
  Runtime rt{config()};
  Mutex m{std::chrono::nanoseconds(0)};  // every contended unlock hands off
  m.lock();
  std::vector<int> order;  // written under m
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < 5; ++i) {
    hs.push_back(rt.spawn([&, i] {
      std::scoped_lock lock(m);
      order.push_back(i);
    }));
    ASSERT_TRUE(test::waiters_reach(m, static_cast<std::size_t>(i) + 1));  // queued in spawn order
  }
  std::vector<int> from_thread;
  std::thread t([&] {
    std::scoped_lock lock(m);
    order.push_back(5);
  });
  ASSERT_TRUE(test::waiters_reach(m, 6));
  m.unlock();
  for (auto& h : hs) h.join();
  t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_FALSE(m.is_locked());
}

TEST_P(SyncMutex, HandOffKeepsTheLockAwayFromBargers) {
  Runtime rt{config()};
  Mutex m{std::chrono::nanoseconds(0)};
  m.lock();
  std::atomic<bool> release{false};
  auto h = rt.spawn([&] {
    m.lock();
    while (!release.load()) this_fiber::yield();
    m.unlock();
  });
  ASSERT_TRUE(test::waiters_reach(m, 1));
  m.unlock();
  // Handed to the waiter: it never became free, so a barging try_lock fails.
  EXPECT_TRUE(m.is_locked());
  EXPECT_FALSE(m.try_lock());
  release = true;
  h.join();
  EXPECT_FALSE(m.is_locked());
}

TEST_P(SyncMutex, NoWaiterStarvesUnderAHammeringLoop) {
  Runtime rt{config()};
  Mutex m{std::chrono::microseconds(200)};
  std::atomic<bool> stop{false};
  long shared = 0;
  std::vector<JoinHandle<long>> hammers;
  for (int i = 0; i < 4; ++i) {
    hammers.push_back(rt.spawn([&] {
      long n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        {
          std::scoped_lock lock(m);
          ++shared;
          ++n;
        }
        if (n % 128 == 0) this_fiber::yield();  // on one worker, let the victim fiber run at all
      }
      return n;
    }));
  }
  std::thread hammer_thread([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      std::scoped_lock lock(m);
      ++shared;
    }
  });
  // Victims: a fiber and a plain thread that each need the lock many times while the others hammer.
  const int rounds = static_cast<int>(test::scaled(200));
  std::atomic<int> victims_done{0};
  auto victim = rt.spawn([&] {
    for (int i = 0; i < rounds; ++i) {
      std::scoped_lock lock(m);
      ++shared;
    }
    victims_done.fetch_add(1);
  });
  std::thread victim_thread([&] {
    for (int i = 0; i < rounds; ++i) {
      std::scoped_lock lock(m);
      ++shared;
    }
    victims_done.fetch_add(1);
  });
  const bool served = test::eventually([&] { return victims_done.load() == 2; }, std::chrono::seconds(60));
  stop = true;
  victim.join();
  victim_thread.join();
  hammer_thread.join();
  for (auto& h : hammers) (void)h.join();
  EXPECT_TRUE(served) << "a waiter starved behind the hammering loop";
  EXPECT_FALSE(m.is_locked());
}

TEST_P(SyncMutex, TimeoutsRacingWithHandOffsNeverLoseTheLock) {
  Runtime rt{config()};
  Mutex m{std::chrono::nanoseconds(0)};
  const int per = static_cast<int>(test::scaled(2'000));
  std::atomic<long> acquired{0};
  long inside = 0;
  std::vector<JoinHandle<void>> hs;
  for (int f = 0; f < 6; ++f) {
    hs.push_back(rt.spawn([&] {
      for (int i = 0; i < per; ++i) {
        if (m.try_lock_for(std::chrono::microseconds(i % 50))) {
          ++inside;
          acquired.fetch_add(1, std::memory_order_relaxed);
          m.unlock();
        }
      }
    }));
  }
  std::thread t([&] {
    for (int i = 0; i < per; ++i) {
      if (m.try_lock_for(std::chrono::microseconds(i % 30))) {
        ++inside;
        acquired.fetch_add(1, std::memory_order_relaxed);
        m.unlock();
      }
    }
  });
  for (auto& h : hs) h.join();
  t.join();
  // A lost hand-off would leave the mutex locked for ever.
  EXPECT_TRUE(m.try_lock_for(10s));
  EXPECT_EQ(inside, acquired.load());
  m.unlock();
  EXPECT_EQ(m.waiters(), 0u);
}

TEST_P(SyncMutex, WokenWaitersThatGiveUpPassTheWakeOn) {
  // Normal mode only (the hand-off threshold is never reached): every contended unlock wakes a
  // waiter to retry, and the timed waiters often give up right after such a wake. Untimed lockers
  // must still all finish: a wake swallowed by a leaving waiter would strand them.
  Runtime rt{config()};
  Mutex m{std::chrono::hours(1)};
  const int per = static_cast<int>(test::scaled(3'000));
  long counter = 0;
  std::atomic<long> timed_ok{0};
  std::vector<JoinHandle<void>> hs;
  for (int f = 0; f < 3; ++f) {
    hs.push_back(rt.spawn([&] {
      for (int i = 0; i < per; ++i) {
        std::scoped_lock lock(m);
        ++counter;
      }
    }));
  }
  for (int f = 0; f < 3; ++f) {
    hs.push_back(rt.spawn([&] {
      for (int i = 0; i < per; ++i) {
        if (m.try_lock_for(std::chrono::microseconds(i % 5))) {
          ++counter;
          timed_ok.fetch_add(1, std::memory_order_relaxed);
          m.unlock();
        } else {
          this_fiber::yield();
        }
      }
    }));
  }
  std::thread t([&] {
    for (int i = 0; i < per; ++i) {
      std::scoped_lock lock(m);
      ++counter;
    }
  });
  const bool finished = test::eventually(
      [&] {
        for (auto& h : hs)
          if (!h.is_finished()) return false;
        return true;
      },
      std::chrono::seconds(120));
  ASSERT_TRUE(finished) << "an untimed locker was stranded";
  for (auto& h : hs) h.join();
  t.join();
  EXPECT_EQ(counter, 4L * per + timed_ok.load());
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.waiters(), 0u);
}

INSTANTIATE_WORKER_COUNTS(SyncMutex);

}  // namespace
}  // namespace weft
