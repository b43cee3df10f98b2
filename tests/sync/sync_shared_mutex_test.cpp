// SharedMutex: concurrent readers, writer exclusion across fibers and plain threads, writer
// preference and FIFO runs, timed waits of both kinds, cancellation of both kinds, a writer giving up
// at the head letting the readers behind it in, grants racing with timeouts, and the std lock types.
#include "sync/sync_test_util.hpp"

#include <weft/sync/shared_mutex.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class SyncSharedMutex : public test::WorkerCountTest {};

// wait_in_fiber: yields until pred() or a generous bound (a fiber must not sleep its worker).
template <class Pred>
bool wait_in_fiber(Pred pred, std::chrono::seconds bound = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    this_fiber::yield();
  }
  return true;
}

// catch_cancel: runs f, mapping a std::system_error(errc::cancelled) to "cancelled".
template <class F>
std::string catch_cancel(F f) {
  try {
    return f();
  } catch (const std::system_error& e) {
    return e.code() == errc::cancelled ? "cancelled" : "wrong error";
  }
}

TEST_P(SyncSharedMutex, ManyReadersHoldAtOnce) {
  Runtime rt{config()};
  SharedMutex m;
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  auto reader = [&] {
    std::shared_lock lock(m);
    const int now = inside.fetch_add(1) + 1;
    int seen = most.load();
    while (seen < now && !most.compare_exchange_weak(seen, now)) {
    }
    // Hold until another reader was seen inside too (bounded: a failure shows in the check below).
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (most.load() < 2 && std::chrono::steady_clock::now() < deadline) this_fiber::yield();
    inside.fetch_sub(1);
  };
  std::vector<JoinHandle<void>> fibers;
  for (int f = 0; f < 4; ++f) fibers.push_back(rt.spawn(reader));
  std::thread t(reader);
  for (auto& h : fibers) h.join();
  t.join();
  EXPECT_GE(most.load(), 2);
  EXPECT_EQ(m.readers(), 0u);

  // And directly: while main holds it shared, a fiber and a thread join, a writer cannot.
  m.lock_shared();
  EXPECT_TRUE(rt.block_on([&] {
    const bool got = m.try_lock_shared();
    if (got) {
      EXPECT_EQ(m.readers(), 2u);
      m.unlock_shared();
    }
    return got;
  }));
  std::thread t2([&] {
    m.lock_shared();
    EXPECT_GE(m.readers(), 2u);
    EXPECT_FALSE(m.try_lock());
    m.unlock_shared();
  });
  t2.join();
  m.unlock_shared();
  EXPECT_TRUE(m.try_lock());
  EXPECT_FALSE(m.try_lock_shared());
  m.unlock();
}

TEST_P(SyncSharedMutex, WriterExcludesReadersAndWritersFibersAndThreads) {
  Runtime rt{config()};
  SharedMutex m;
  long a = 0, b = 0;  // deliberately not atomic: TSan and the invariant a == b check exclusion
  std::atomic<int> writers_inside{0};
  std::atomic<int> readers_inside{0};
  std::atomic<bool> broken{false};
  const int per = static_cast<int>(test::scaled(10'000));
  auto writer = [&] {
    for (int i = 0; i < per; ++i) {
      std::unique_lock lock(m);
      if (writers_inside.fetch_add(1) != 0 || readers_inside.load() != 0) broken = true;
      ++a;
      ++b;
      writers_inside.fetch_sub(1);
      if (i % 64 == 0) this_fiber::yield();
    }
  };
  std::atomic<long> reads{0};
  auto reader = [&] {
    for (int i = 0; i < per; ++i) {
      std::shared_lock lock(m);
      readers_inside.fetch_add(1);
      if (writers_inside.load() != 0 || a != b) broken = true;
      readers_inside.fetch_sub(1);
      reads.fetch_add(1, std::memory_order_relaxed);
      if (i % 64 == 0) this_fiber::yield();
    }
  };
  std::vector<JoinHandle<void>> fibers;
  for (int f = 0; f < 3; ++f) fibers.push_back(rt.spawn(writer));
  for (int f = 0; f < 4; ++f) fibers.push_back(rt.spawn(reader));
  std::thread tw(writer);
  std::thread tr(reader);
  for (auto& h : fibers) h.join();
  tw.join();
  tr.join();
  EXPECT_FALSE(broken.load());
  EXPECT_EQ(a, 4L * per);
  EXPECT_EQ(b, 4L * per);
  EXPECT_EQ(reads.load(), 5L * per);
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.readers(), 0u);
  EXPECT_EQ(m.waiters(), 0u);
}

TEST_P(SyncSharedMutex, WaitingWriterBlocksNewReaders) {
  Runtime rt{config()};
  SharedMutex m;
  m.lock_shared();  // main reads
  std::mutex order_mu;
  std::vector<std::string> order;
  auto note = [&](std::string s) {
    std::scoped_lock l(order_mu);
    order.push_back(std::move(s));
  };
  auto writer = rt.spawn([&] {
    std::unique_lock lock(m);
    note("writer");
  });
  ASSERT_TRUE(test::waiters_reach(m, 1));
  // A writer waits: new readers may not join main's hold.
  EXPECT_FALSE(m.try_lock_shared());
  EXPECT_FALSE(rt.block_on([&] { return m.try_lock_shared(); }));
  EXPECT_FALSE(m.try_lock_shared_for(1ms));
  auto reader = rt.spawn([&] {
    std::shared_lock lock(m);
    note("reader");
  });
  std::thread reader_thread([&] {
    std::shared_lock lock(m);
    note("thread reader");
  });
  ASSERT_TRUE(test::waiters_reach(m, 3));
  EXPECT_EQ(m.readers(), 1u);  // only main: the later readers queue behind the writer
  {
    std::scoped_lock l(order_mu);
    EXPECT_TRUE(order.empty());
  }
  m.unlock_shared();
  writer.join();
  reader.join();
  reader_thread.join();
  ASSERT_EQ(order.size(), 3u);
  EXPECT_EQ(order[0], "writer");
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.waiters(), 0u);
}

TEST_P(SyncSharedMutex, FifoRunsOfReadersBetweenWriters) {
  Runtime rt{config()};
  SharedMutex m;
  m.lock();
  std::mutex order_mu;
  std::vector<std::string> order;
  auto note = [&](std::string s) {
    std::scoped_lock l(order_mu);
    order.push_back(std::move(s));
  };
  std::vector<JoinHandle<void>> hs;
  const char* kinds[] = {"r1", "w1", "r2", "r3", "w2", "r4"};
  for (int i = 0; i < 6; ++i) {
    const std::string name = kinds[i];
    if (name[0] == 'w') {
      hs.push_back(rt.spawn([&, name] {
        std::unique_lock lock(m);
        note(name);
      }));
    } else {
      hs.push_back(rt.spawn([&, name] {
        std::shared_lock lock(m);
        note(name);
      }));
    }
    ASSERT_TRUE(test::waiters_reach(m, static_cast<std::size_t>(i) + 1));  // queued in spawn order
  }
  m.unlock();
  for (auto& h : hs) h.join();
  ASSERT_EQ(order.size(), 6u);
  EXPECT_EQ(order[0], "r1");
  EXPECT_EQ(order[1], "w1");
  std::vector<std::string> run(order.begin() + 2, order.begin() + 4);
  std::sort(run.begin(), run.end());
  EXPECT_EQ(run, (std::vector<std::string>{"r2", "r3"}));
  EXPECT_EQ(order[4], "w2");
  EXPECT_EQ(order[5], "r4");
}

TEST_P(SyncSharedMutex, TimedLocksOfBothKindsExpire) {
  Runtime rt{config()};
  SharedMutex m;
  m.lock();  // a writer holds: both kinds wait
  auto fiber = rt.spawn([&] {
    EXPECT_FALSE(m.try_lock_for(5ms));
    EXPECT_FALSE(m.try_lock_shared_for(5ms));
    EXPECT_FALSE(m.try_lock_until(std::chrono::steady_clock::now() + 5ms));
    EXPECT_FALSE(m.try_lock_shared_until(std::chrono::system_clock::now() + 5ms));  // another clock
    EXPECT_FALSE(m.try_lock_for(-1s));                                              // already expired
    EXPECT_FALSE(m.try_lock_shared_for(0s));
    EXPECT_TRUE(test::is_timed_out(m.lock_cancellable_for(5ms)));
    return m.lock_shared_cancellable_for(5ms);
  });
  Result<void> from_thread, shared_from_thread;
  std::thread t([&] {
    EXPECT_FALSE(m.try_lock_for(5ms));
    EXPECT_FALSE(m.try_lock_shared_for(5ms));
    from_thread = m.lock_cancellable_until(std::chrono::steady_clock::now() + 5ms);
    shared_from_thread = m.lock_shared_cancellable_until(std::chrono::steady_clock::now() + 5ms);
  });
  EXPECT_TRUE(test::is_timed_out(fiber.join()));
  t.join();
  EXPECT_TRUE(test::is_timed_out(from_thread));
  EXPECT_TRUE(test::is_timed_out(shared_from_thread));
  EXPECT_EQ(m.waiters(), 0u);
  m.unlock();

  // Readers hold: a writer times out, and the lock is still usable by both kinds.
  m.lock_shared();
  EXPECT_FALSE(rt.block_on([&] { return m.try_lock_for(5ms); }));
  EXPECT_EQ(m.waiters(), 0u);
  EXPECT_TRUE(m.try_lock_shared_for(5ms));  // nobody waits: readers join
  m.unlock_shared();
  m.unlock_shared();
  EXPECT_TRUE(m.try_lock_for(5ms));
  m.unlock();
}

TEST_P(SyncSharedMutex, TimedLocksOfBothKindsSucceedWhenReleasedInTime) {
  Runtime rt{config()};
  SharedMutex m;
  m.lock();
  auto w = rt.spawn([&] {
    const bool got = m.try_lock_for(std::chrono::hours(1));
    if (got) m.unlock();
    return got;
  });
  auto r = rt.spawn([&] {
    const bool got = m.try_lock_shared_until(std::chrono::system_clock::now() + std::chrono::hours(1));
    if (got) m.unlock_shared();
    return got;
  });
  bool thread_got = false;
  std::thread t([&] {
    thread_got = m.try_lock_shared_for(std::chrono::hours(1));
    if (thread_got) m.unlock_shared();
  });
  ASSERT_TRUE(test::waiters_reach(m, 3));
  m.unlock();
  EXPECT_TRUE(w.join());
  EXPECT_TRUE(r.join());
  t.join();
  EXPECT_TRUE(thread_got);
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.readers(), 0u);
}

TEST_P(SyncSharedMutex, CancellationOfBothKindsLeavesTheLockUsable) {
  Runtime rt{config()};
  SharedMutex m;
  m.lock();
  std::vector<JoinHandle<std::string>> hs;
  hs.push_back(rt.spawn([&]() -> std::string {
    auto r = m.lock_cancellable();
    return test::is_cancelled(r) ? "cancelled" : "wrong";
  }));
  hs.push_back(rt.spawn([&] {
    return catch_cancel([&]() -> std::string {
      m.lock();
      m.unlock();
      return "locked";
    });
  }));
  hs.push_back(rt.spawn([&] {
    return catch_cancel([&]() -> std::string { return m.try_lock_for(std::chrono::hours(1)) ? "locked" : "timed out"; });
  }));
  hs.push_back(rt.spawn([&]() -> std::string {
    auto r = m.lock_cancellable_for(std::chrono::hours(1));
    return test::is_cancelled(r) ? "cancelled" : "wrong";
  }));
  hs.push_back(rt.spawn([&]() -> std::string {
    auto r = m.lock_shared_cancellable();
    return test::is_cancelled(r) ? "cancelled" : "wrong";
  }));
  hs.push_back(rt.spawn([&] {
    return catch_cancel([&]() -> std::string {
      m.lock_shared();
      m.unlock_shared();
      return "locked";
    });
  }));
  hs.push_back(rt.spawn([&] {
    return catch_cancel(
        [&]() -> std::string { return m.try_lock_shared_for(std::chrono::hours(1)) ? "locked" : "timed out"; });
  }));
  hs.push_back(rt.spawn([&]() -> std::string {
    auto r = m.lock_shared_cancellable_until(std::chrono::steady_clock::now() + std::chrono::hours(1));
    return test::is_cancelled(r) ? "cancelled" : "wrong";
  }));
  ASSERT_TRUE(test::waiters_reach(m, hs.size()));
  for (auto& h : hs) h.cancel();
  for (auto& h : hs) EXPECT_EQ(h.join(), "cancelled");
  // Consistent: still held by main, nobody queued, usable by both kinds afterwards.
  EXPECT_TRUE(m.is_locked());
  EXPECT_EQ(m.waiters(), 0u);
  auto r = rt.spawn([&] {
    std::shared_lock lock(m);
    return 1;
  });
  auto w = rt.spawn([&] {
    std::unique_lock lock(m);
    return 2;
  });
  ASSERT_TRUE(test::waiters_reach(m, 2));
  m.unlock();
  EXPECT_EQ(r.join(), 1);
  EXPECT_EQ(w.join(), 2);
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.readers(), 0u);
}

TEST_P(SyncSharedMutex, FreeLockIsTakenEvenByACancelledFiber) {
  Runtime rt{config()};
  SharedMutex m;
  std::atomic<bool> started{false};
  auto h = rt.spawn([&] {
    started = true;
    while (!this_fiber::cancellation_requested()) this_fiber::yield();
    auto r = m.lock_cancellable();  // only waiting observes cancellation
    if (!r) return false;
    m.unlock();
    m.lock_shared();  // does not throw: nothing to wait for
    auto r2 = m.lock_shared_cancellable();
    m.unlock_shared();
    if (r2) m.unlock_shared();
    return r2.has_value();
  });
  ASSERT_TRUE(test::eventually([&] { return started.load(); }));
  h.cancel();
  EXPECT_TRUE(h.join());
}

TEST_P(SyncSharedMutex, CancelledWriterAtTheHeadLetsTheReadersBehindIn) {
  Runtime rt{config()};
  SharedMutex m;
  m.lock_shared();  // main reads (and keeps reading throughout)
  auto writer = rt.spawn([&] { return m.lock_cancellable(); });
  ASSERT_TRUE(test::waiters_reach(m, 1));
  std::atomic<int> readers_in{0};
  auto reader = rt.spawn([&] {
    std::shared_lock lock(m);
    readers_in.fetch_add(1);
    wait_in_fiber([&] { return readers_in.load() == 2; });  // both inside at once, with main
  });
  std::thread reader_thread([&] {
    std::shared_lock lock(m);
    readers_in.fetch_add(1);
    test::eventually([&] { return readers_in.load() == 2; });
  });
  ASSERT_TRUE(test::waiters_reach(m, 3));
  EXPECT_EQ(readers_in.load(), 0);
  writer.cancel();
  EXPECT_TRUE(test::is_cancelled(writer.join()));
  // The writer left from the head: the readers behind it join main's hold.
  EXPECT_TRUE(test::eventually([&] { return readers_in.load() == 2; }));
  reader.join();
  reader_thread.join();
  EXPECT_EQ(m.waiters(), 0u);
  EXPECT_EQ(m.readers(), 1u);
  m.unlock_shared();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST_P(SyncSharedMutex, TimedOutWriterAtTheHeadLetsTheReadersBehindIn) {
  Runtime rt{config()};
  SharedMutex m;
  m.lock_shared();  // main reads throughout: the writer can only time out
  std::atomic<bool> writer_queued{false};
  bool writer_got = true;
  std::thread writer([&] {
    writer_queued = true;
    writer_got = m.try_lock_for(300ms);
  });
  ASSERT_TRUE(test::eventually([&] { return writer_queued.load(); }));
  // Readers queue behind the waiting writer (if it already timed out they simply get in).
  std::atomic<int> readers_in{0};
  std::vector<JoinHandle<void>> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(rt.spawn([&] {
      auto r = m.lock_shared_cancellable();
      ASSERT_TRUE(r.has_value());
      readers_in.fetch_add(1);
      m.unlock_shared();
    }));
  }
  EXPECT_TRUE(test::eventually([&] { return readers_in.load() == 3; }));
  writer.join();
  EXPECT_FALSE(writer_got);
  for (auto& h : readers) h.join();
  EXPECT_EQ(m.waiters(), 0u);
  EXPECT_EQ(m.readers(), 1u);
  m.unlock_shared();
  EXPECT_FALSE(m.is_locked());
}

TEST_P(SyncSharedMutex, StdLockTypes) {
  Runtime rt{config()};
  SharedMutex m;
  rt.block_on([&] {
    {
      std::shared_lock r1(m);
      std::shared_lock r2(m, std::try_to_lock);
      EXPECT_TRUE(r2.owns_lock());
      std::unique_lock w(m, std::try_to_lock);
      EXPECT_FALSE(w.owns_lock());
      EXPECT_FALSE(w.try_lock_for(1ms));
      std::shared_lock r3(m, 1ms);
      EXPECT_TRUE(r3.owns_lock());
      EXPECT_EQ(m.readers(), 3u);
    }
    {
      std::unique_lock w(m);
      EXPECT_TRUE(m.is_locked());
      std::shared_lock r(m, std::defer_lock);
      EXPECT_FALSE(r.try_lock());
      EXPECT_FALSE(r.try_lock_until(std::chrono::steady_clock::now() + 1ms));
    }
    std::scoped_lock w(m);
    EXPECT_TRUE(m.is_locked());
  });
  EXPECT_FALSE(m.is_locked());
  EXPECT_EQ(m.readers(), 0u);
}

TEST_P(SyncSharedMutex, TimeoutsRacingWithGrantsNeverLoseTheLock) {
  Runtime rt{config()};
  SharedMutex m;
  const int per = static_cast<int>(test::scaled(2'000));
  std::atomic<long> acquired{0};
  long written = 0;  // under the exclusive lock only
  std::atomic<bool> broken{false};
  std::atomic<int> writers_inside{0};
  auto body = [&](int seed) {
    for (int i = 0; i < per; ++i) {
      const auto d = std::chrono::microseconds((i + seed) % 40);
      if ((i + seed) % 3 == 0) {
        if (m.try_lock_for(d)) {
          if (writers_inside.fetch_add(1) != 0) broken = true;
          ++written;
          writers_inside.fetch_sub(1);
          acquired.fetch_add(1, std::memory_order_relaxed);
          m.unlock();
        }
      } else if (m.try_lock_shared_for(d)) {
        if (writers_inside.load() != 0) broken = true;
        m.unlock_shared();
      }
    }
  };
  std::vector<JoinHandle<void>> hs;
  for (int f = 0; f < 6; ++f) hs.push_back(rt.spawn([&, f] { body(f); }));
  // Untimed lockers of both kinds must not be stranded by waiters that give up around them.
  hs.push_back(rt.spawn([&] {
    for (int i = 0; i < per / 4; ++i) {
      std::unique_lock lock(m);
      ++written;
      acquired.fetch_add(1, std::memory_order_relaxed);
    }
  }));
  hs.push_back(rt.spawn([&] {
    for (int i = 0; i < per / 4; ++i) std::shared_lock lock(m);
  }));
  std::thread t([&] { body(7); });
  const bool finished = test::eventually(
      [&] {
        for (auto& h : hs)
          if (!h.is_finished()) return false;
        return true;
      },
      std::chrono::seconds(120));
  ASSERT_TRUE(finished) << "a locker was stranded";
  for (auto& h : hs) h.join();
  t.join();
  // A lost grant would leave the lock held for ever.
  EXPECT_TRUE(m.try_lock_for(10s));
  EXPECT_EQ(written, acquired.load());
  m.unlock();
  EXPECT_FALSE(broken.load());
  EXPECT_EQ(m.waiters(), 0u);
  EXPECT_EQ(m.readers(), 0u);
}

INSTANTIATE_WORKER_COUNTS(SyncSharedMutex);

}  // namespace
}  // namespace weft
