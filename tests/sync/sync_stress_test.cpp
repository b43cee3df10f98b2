// Lost-wake-up stress: 10,000 rounds (scaled under sanitizers) of notify/wait ping-pong across
// workers and between fibers and plain threads, through each primitive. A lost wake-up shows as a
// round that never completes: each test waits for completion with a generous bound and fails
// instead of hanging.
#include "sync/sync_test_util.hpp"

#include <weft/sync/condition_variable.hpp>
#include <weft/sync/event.hpp>
#include <weft/sync/mutex.hpp>
#include <weft/sync/semaphore.hpp>
#include <weft/sync/wait_group.hpp>

#include <atomic>
#include <functional>
#include <thread>

namespace weft {
namespace {

using namespace std::chrono_literals;

class SyncStress : public test::WorkerCountTest {
 protected:
  static long rounds() { return static_cast<long>(test::scaled(10'000)); }
  // ping_pong: runs `a` on a fiber and `b` on a fiber, then `a` on a fiber and `b` on a plain thread.
  void ping_pong(const std::function<void(bool)>& reset, const std::function<void()>& a,
                 const std::function<void()>& b) {
    Runtime rt{config()};
    for (bool b_on_thread : {false, true}) {
      reset(b_on_thread);
      auto ha = rt.spawn(a);
      JoinHandle<void> hb;
      std::thread tb;
      if (b_on_thread) {
        tb = std::thread(b);
      } else {
        hb = rt.spawn(b);
      }
      const bool done = test::eventually([&] { return ha.is_finished() && (b_on_thread || hb.is_finished()); },
                                         std::chrono::seconds(120));
      EXPECT_TRUE(done) << "a wake-up was lost (b on a " << (b_on_thread ? "thread" : "fiber") << ")";
      if (!done) std::abort();  // a stuck fiber cannot be joined
      ha.join();
      if (b_on_thread) {
        tb.join();
      } else {
        hb.join();
      }
    }
  }
};

TEST_P(SyncStress, ConditionVariablePingPong) {
  Mutex m;
  ConditionVariable cv;
  long turn = 0;  // under m: even -> a, odd -> b
  const long n = rounds();
  auto player = [&](long parity) {
    std::unique_lock lock(m);
    for (long i = 0; i < n; ++i) {
      cv.wait(lock, [&] { return turn % 2 == parity; });
      ++turn;
      cv.notify_one();
    }
  };
  ping_pong([&](bool) { turn = 0; }, [&] { player(0); }, [&] { player(1); });
  EXPECT_EQ(turn, 2 * n);
}

TEST_P(SyncStress, AutoResetEventPingPong) {
  Event ping{EventMode::auto_reset}, pong{EventMode::auto_reset};
  const long n = rounds();
  std::atomic<long> count{0};
  ping_pong([&](bool) { count = 0; },
            [&] {
              for (long i = 0; i < n; ++i) {
                ping.set();
                ASSERT_TRUE(pong.wait().has_value());
                count.fetch_add(1, std::memory_order_relaxed);
              }
            },
            [&] {
              for (long i = 0; i < n; ++i) {
                ASSERT_TRUE(ping.wait().has_value());
                pong.set();
              }
            });
  EXPECT_EQ(count.load(), n);
}

TEST_P(SyncStress, SemaphorePingPongWithTimedWaits) {
  Semaphore to_b{0}, to_a{0};
  const long n = rounds();
  ping_pong([](bool) {},
            [&] {
              for (long i = 0; i < n; ++i) {
                to_b.release();
                // A timed wait racing with the release must never lose the permit.
                // (An expired deadline does not suspend: yield so that b can run on one worker.)
                while (test::is_timed_out(to_a.acquire_for(std::chrono::microseconds(i % 7)))) this_fiber::yield();
              }
            },
            [&] {
              for (long i = 0; i < n; ++i) {
                ASSERT_TRUE(to_b.acquire().has_value());
                to_a.release();
              }
            });
  EXPECT_EQ(to_a.available() + to_b.available(), 0u);
}

TEST_P(SyncStress, MutexHandOffPingPong) {
  Mutex m{std::chrono::nanoseconds(0)};  // every contended unlock is a hand-off
  long counter = 0;
  const long n = rounds();
  auto body = [&] {
    for (long i = 0; i < n; ++i) {
      std::scoped_lock lock(m);
      ++counter;
    }
  };
  ping_pong([&](bool) { counter = 0; }, body, body);
  EXPECT_EQ(counter, 2 * n);
  EXPECT_FALSE(m.is_locked());
}

TEST_P(SyncStress, WaitGroupRounds) {
  const long n = rounds() / 10;
  Runtime rt{config()};
  WaitGroup wg;
  long done_rounds = 0;
  auto h = rt.spawn([&] {
    for (long i = 0; i < n; ++i) {
      wg.add(3);
      for (int k = 0; k < 3; ++k) spawn([&] { wg.done(); }).detach();
      if (!wg.wait()) return;
      ++done_rounds;
    }
  });
  ASSERT_TRUE(test::eventually([&] { return h.is_finished(); }, std::chrono::seconds(120)));
  h.join();
  EXPECT_EQ(done_rounds, n);
}

INSTANTIATE_WORKER_COUNTS(SyncStress);

}  // namespace
}  // namespace weft
