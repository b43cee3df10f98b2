// Barrier: phases across fibers and threads with exactly one leader per phase, reuse, and a party
// that times out or is cancelled withdrawing its arrival.
#include "sync/sync_test_util.hpp"

#include <weft/sync/barrier.hpp>

#include <atomic>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class SyncBarrier : public test::WorkerCountTest {};

TEST_P(SyncBarrier, PhasesWithOneLeaderEach) {
  Runtime rt{config()};
  const int parties = 5;  // 4 fibers + 1 plain thread
  const int rounds = static_cast<int>(test::scaled(200));
  Barrier b{parties};
  EXPECT_EQ(b.parties(), 5u);
  std::vector<int> slot(parties, 0);  // each party writes its own; read by all after the phase
  std::atomic<int> leaders{0};
  std::atomic<bool> mismatch{false};
  auto party = [&](int me) {
    for (int r = 1; r <= rounds; ++r) {
      slot[me] = r;
      auto res = b.arrive_and_wait();
      ASSERT_TRUE(res.has_value());
      if (*res) leaders.fetch_add(1);
      for (int p = 0; p < parties; ++p)
        if (slot[p] < r) mismatch = true;  // a party was released before everyone arrived
      ASSERT_TRUE(b.arrive_and_wait().has_value());  // nobody starts r+1 before all checked r
    }
  };
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < parties - 1; ++i) hs.push_back(rt.spawn(party, i));
  std::thread t(party, parties - 1);
  for (auto& h : hs) h.join();
  t.join();
  EXPECT_FALSE(mismatch.load());
  EXPECT_EQ(leaders.load(), rounds);
  EXPECT_EQ(b.waiters(), 0u);
  Barrier single{1};
  EXPECT_TRUE(single.arrive_and_wait().value());
}

TEST_P(SyncBarrier, TimeoutAndCancellationWithdrawTheArrival) {
  Runtime rt{config()};
  Barrier b{2};
  EXPECT_TRUE(test::is_timed_out(rt.block_on([&] { return b.arrive_and_wait_for(2ms); })));
  EXPECT_TRUE(test::is_timed_out(b.arrive_and_wait_until(sync::Clock::now() + 2ms)));  // thread
  auto c = rt.spawn([&] { return b.arrive_and_wait(); });
  ASSERT_TRUE(test::waiters_reach(b, 1));
  c.cancel();
  EXPECT_TRUE(test::is_cancelled(c.join()));
  EXPECT_EQ(b.waiters(), 0u);
  // Three withdrawn arrivals: the phase still needs two real ones.
  auto first = rt.spawn([&] { return b.arrive_and_wait_for(std::chrono::hours(1)); });
  ASSERT_TRUE(test::waiters_reach(b, 1));
  auto second = b.arrive_and_wait();
  ASSERT_TRUE(second.has_value());
  auto f = first.join();
  ASSERT_TRUE(f.has_value());
  EXPECT_NE(*f, *second);  // exactly one of them completed the phase
}

INSTANTIATE_WORKER_COUNTS(SyncBarrier);

}  // namespace
}  // namespace weft
