// Event: manual reset releases every waiter until reset(); auto reset releases exactly one waiter
// per set() (or is consumed by the next wait); timeouts; cancellation.
#include "sync/sync_test_util.hpp"

#include <weft/sync/event.hpp>

#include <atomic>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class SyncEvent : public test::WorkerCountTest {};

TEST_P(SyncEvent, ManualResetReleasesEveryWaiterUntilReset) {
  Runtime rt{config()};
  Event e;
  EXPECT_FALSE(e.is_set());
  EXPECT_FALSE(e.try_wait());
  std::vector<JoinHandle<Result<void>>> hs;
  for (int i = 0; i < 5; ++i) hs.push_back(rt.spawn([&] { return e.wait(); }));
  Result<void> thread_result = fail(errc::closed);
  std::thread t([&] { thread_result = e.wait(); });
  ASSERT_TRUE(test::waiters_reach(e, 6));
  e.set();
  for (auto& h : hs) EXPECT_TRUE(h.join().has_value());
  t.join();
  EXPECT_TRUE(thread_result.has_value());
  EXPECT_TRUE(e.is_set());
  EXPECT_TRUE(e.try_wait());
  EXPECT_TRUE(e.try_wait());  // manual: not consumed
  EXPECT_TRUE(rt.block_on([&] { return e.wait().has_value(); }));
  e.reset();
  EXPECT_FALSE(e.is_set());
  EXPECT_TRUE(test::is_timed_out(e.wait_for(1ms)));
  Event initially{EventMode::manual_reset, true};
  EXPECT_TRUE(initially.wait().has_value());
}

TEST_P(SyncEvent, AutoResetReleasesOneWaiterPerSet) {
  Runtime rt{config()};
  Event e{EventMode::auto_reset};
  std::atomic<int> released{0};
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < 3; ++i) {
    hs.push_back(rt.spawn([&] {
      ASSERT_TRUE(e.wait().has_value());
      released.fetch_add(1);
    }));
  }
  ASSERT_TRUE(test::waiters_reach(e, 3));
  e.set();
  ASSERT_TRUE(test::eventually([&] { return released.load() == 1; }));
  EXPECT_EQ(e.waiters(), 2u);
  EXPECT_FALSE(e.is_set());  // handed to a waiter, not left set
  e.set();
  e.set();
  for (auto& h : hs) h.join();
  EXPECT_EQ(released.load(), 3);
  // Nobody waits: the set is kept for the next wait, and consumed by it.
  e.set();
  e.set();  // a flag, not a counter
  EXPECT_TRUE(e.is_set());
  EXPECT_TRUE(e.try_wait());
  EXPECT_FALSE(e.try_wait());
  e.set();
  EXPECT_TRUE(rt.block_on([&] { return e.wait_for(1h).has_value(); }));
  EXPECT_FALSE(e.is_set());
  e.set();
  e.reset();
  EXPECT_FALSE(e.try_wait());
}

TEST_P(SyncEvent, TimedWaitsExpire) {
  Runtime rt{config()};
  Event manual;
  Event automatic{EventMode::auto_reset};
  EXPECT_TRUE(test::is_timed_out(rt.block_on([&] { return manual.wait_for(2ms); })));
  EXPECT_TRUE(test::is_timed_out(rt.block_on([&] { return automatic.wait_until(sync::Clock::now() + 2ms); })));
  EXPECT_TRUE(test::is_timed_out(automatic.wait_for(2ms)));  // plain thread
  EXPECT_TRUE(test::is_timed_out(manual.wait_for(-1s)));
  EXPECT_EQ(manual.waiters() + automatic.waiters(), 0u);
  auto h = rt.spawn([&] { return automatic.wait_for(std::chrono::hours(1)); });
  ASSERT_TRUE(test::waiters_reach(automatic, 1));
  automatic.set();
  EXPECT_TRUE(h.join().has_value());
}

TEST_P(SyncEvent, CancellationWhileWaiting) {
  Runtime rt{config()};
  Event e{EventMode::auto_reset};
  auto a = rt.spawn([&] { return e.wait(); });
  auto b = rt.spawn([&] { return e.wait_for(std::chrono::hours(1)); });
  ASSERT_TRUE(test::waiters_reach(e, 2));
  a.cancel();
  b.cancel();
  EXPECT_TRUE(test::is_cancelled(a.join()));
  EXPECT_TRUE(test::is_cancelled(b.join()));
  EXPECT_EQ(e.waiters(), 0u);
  e.set();  // nobody waits any more: the event stays set
  EXPECT_TRUE(e.try_wait());
}

INSTANTIATE_WORKER_COUNTS(SyncEvent);

}  // namespace
}  // namespace weft
