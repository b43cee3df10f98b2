// Oneshot, Broadcast and Watch: delivery, closing, lag reporting, latest-value semantics,
// cancellation; and a close storm: 10,000 blocked receivers and senders all woken by one close.
#include "channels/channels_test_util.hpp"

#include <weft/channels/broadcast.hpp>
#include <weft/channels/channel.hpp>
#include <weft/channels/oneshot.hpp>
#include <weft/channels/watch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class ChannelsKinds : public test::WorkerCountTest {};

TEST_P(ChannelsKinds, OneshotDeliversOnceAcrossFibers) {
  Runtime rt{config()};
  auto [tx, rx] = make_oneshot<std::unique_ptr<int>>();
  auto h = rt.spawn([tx = std::move(tx)]() mutable { return std::move(tx).send(std::make_unique<int>(5)).has_value(); });
  auto v = rx.recv();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(**v, 5);
  EXPECT_TRUE(h.join());
  EXPECT_TRUE(test::has_error(rx.recv(), errc::closed));  // one value only
}

TEST(ChannelsKindsBasic, OneshotSenderDroppedOrReceiverGone) {
  {
    auto [tx, rx] = make_oneshot<int>();
    { auto gone = std::move(tx); }
    EXPECT_TRUE(test::has_error(rx.recv(), errc::closed));
  }
  {
    auto [tx, rx] = make_oneshot<std::string>();
    { auto gone = std::move(rx); }
    EXPECT_TRUE(tx.is_closed());
    auto r = std::move(tx).send("back");
    ASSERT_TRUE(test::has_error(r, errc::closed));
    EXPECT_EQ(r.error().value, "back");
  }
  {
    auto [tx, rx] = make_oneshot<int>();
    EXPECT_TRUE(test::has_error(rx.recv_for(2ms), std::errc::timed_out));
    EXPECT_TRUE(test::has_error(rx.try_recv(), channel_errc::empty));
  }
}

TEST_P(ChannelsKinds, BroadcastEveryReceiverSeesEveryValueInOrder) {
  Runtime rt{config()};
  auto [tx, rx] = make_broadcast<int>(16);
  const int n = static_cast<int>(test::scaled(5'000));
  std::vector<JoinHandle<long long>> receivers;
  std::vector<BroadcastReceiver<int>> subs;
  for (int r = 0; r < 4; ++r) subs.push_back(tx.subscribe());
  for (auto& s : subs) {
    receivers.push_back(rt.spawn([s = std::move(s), n]() mutable {
      long long sum = 0;
      int expect = 0;
      for (;;) {
        auto v = s.recv();
        if (!v) {
          if (v.error() == errc::closed) break;
          return -1LL;  // lagged: the sender below waits, so this must not happen
        }
        if (*v != expect++) return -2LL;
        sum += *v;
      }
      return expect == n ? sum : -3LL;
    }));
  }
  // Flow control so no receiver lags: wait until every receiver is blocked again every 16 sends.
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(tx.send(i).has_value());
    if (i % 16 == 15) {
      ASSERT_TRUE(test::eventually([&] { return rx.waiters() == 4; }));
    }
  }
  tx.close();
  for (auto& h : receivers) EXPECT_EQ(h.join(), static_cast<long long>(n) * (n - 1) / 2);
  // The original receiver never read: it lags.
  auto first = rx.recv();
  ASSERT_TRUE(test::has_error(first, channel_errc::lagged));
  EXPECT_EQ(rx.missed(), static_cast<std::uint64_t>(n - 16));
  EXPECT_EQ(rx.recv().value(), n - 16);  // then the oldest value still held
}

TEST(ChannelsKindsBasic, BroadcastLagCountAndClose) {
  auto [tx, rx] = make_broadcast<int>(4);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(tx.send(i).has_value());
  auto late = tx.subscribe();
  EXPECT_TRUE(test::has_error(late.try_recv(), channel_errc::empty));
  ASSERT_TRUE(test::has_error(rx.recv(), channel_errc::lagged));
  EXPECT_EQ(rx.missed(), 6u);
  for (int i = 6; i < 10; ++i) EXPECT_EQ(rx.recv().value(), i);
  EXPECT_TRUE(test::has_error(rx.recv_for(1ms), std::errc::timed_out));
  ASSERT_TRUE(tx.send(10).has_value());
  tx.close();
  EXPECT_EQ(late.recv().value(), 10);
  EXPECT_EQ(rx.recv().value(), 10);
  EXPECT_TRUE(test::has_error(rx.recv(), errc::closed));
  auto r = tx.send(11);
  ASSERT_TRUE(test::has_error(r, errc::closed));
  EXPECT_EQ(r.error().value, 11);
}

TEST_P(ChannelsKinds, BroadcastCancelBlockedRecv) {
  Runtime rt{config()};
  auto [tx, rx] = make_broadcast<int>(4);
  auto h = rt.spawn([rx = rx]() mutable { return test::has_error(rx.recv(), errc::cancelled); });
  ASSERT_TRUE(test::waiters_reach(rx, 1));
  h.cancel();
  EXPECT_TRUE(h.join());
  EXPECT_EQ(rx.waiters(), 0u);
}

TEST_P(ChannelsKinds, WatchSeesLatestAndWakesOnChange) {
  Runtime rt{config()};
  auto [tx, rx] = make_watch<int>(0);
  EXPECT_EQ(rx.borrow(), 0);
  EXPECT_FALSE(rx.has_changed());
  auto h = rt.spawn([rx = rx]() mutable {
    std::vector<int> seen;
    while (rx.changed()) seen.push_back(rx.borrow());
    return seen;
  });
  ASSERT_TRUE(test::waiters_reach(rx, 1));
  ASSERT_TRUE(tx.send(1).has_value());
  ASSERT_TRUE(test::waiters_reach(rx, 1));  // it saw 1 and waits again
  ASSERT_TRUE(tx.send(2).has_value());
  ASSERT_TRUE(tx.send(3).has_value());  // may overwrite 2 before it is read
  ASSERT_TRUE(test::waiters_reach(rx, 1));
  { auto gone = std::move(tx); }  // last sender: closes
  auto seen = h.join();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), 1);
  EXPECT_EQ(seen.back(), 3);  // the latest value is never missed
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i - 1], seen[i]);
  EXPECT_EQ(rx.borrow(), 3);  // still readable after close
  EXPECT_TRUE(rx.has_changed());
  EXPECT_TRUE(rx.changed().has_value());
  EXPECT_TRUE(test::has_error(rx.changed(), errc::closed));
}

TEST(ChannelsKindsBasic, WatchTimedAndMark) {
  auto [tx, rx] = make_watch<std::string>("a");
  EXPECT_TRUE(test::has_error(rx.changed_for(1ms), std::errc::timed_out));
  ASSERT_TRUE(tx.send("b").has_value());
  EXPECT_TRUE(rx.has_changed());
  EXPECT_EQ(rx.borrow_and_mark(), "b");
  EXPECT_FALSE(rx.has_changed());
  EXPECT_EQ(tx.borrow(), "b");
}

// 10,000 fibers blocked (half receiving on an empty channel, half sending on a full one) and a
// plain thread; one close wakes them all, every sender gets its own value back.
TEST_P(ChannelsKinds, CloseStormWakesEveryWaiter) {
  Runtime rt{config()};
  const int n = static_cast<int>(test::scaled(10'000) < 1'000 ? 1'000 : test::scaled(10'000));
  auto [rtx, rrx] = make_channel<int>(4);
  auto [stx, srx] = make_channel<int>(1);
  ASSERT_TRUE(stx.send(-1).has_value());
  std::atomic<int> ok{0};
  std::vector<JoinHandle<void>> hs;
  hs.reserve(n);
  for (int i = 0; i < n; ++i) {
    if (i % 2) {
      hs.push_back(rt.spawn([&, rrx = rrx] {
        if (test::has_error(rrx.recv(), errc::closed)) ok.fetch_add(1);
      }));
    } else {
      hs.push_back(rt.spawn([&, stx = stx, i] {
        auto r = stx.send(i);
        if (test::has_error(r, errc::closed) && r.error().value == i) ok.fetch_add(1);
      }));
    }
  }
  std::thread t([&, rrx = rrx] {
    if (test::has_error(rrx.recv(), errc::closed)) ok.fetch_add(1);
  });
  ASSERT_TRUE(test::eventually([&] { return rrx.waiters() == static_cast<std::size_t>(n / 2 + 1); }, 120s));
  ASSERT_TRUE(test::eventually([&] { return srx.waiters() == static_cast<std::size_t>(n - n / 2); }, 120s));
  rrx.close();
  srx.close();
  for (auto& h : hs) h.join();
  t.join();
  EXPECT_EQ(ok.load(), n + 1);
  EXPECT_EQ(rrx.waiters() + srx.waiters(), 0u);
}

INSTANTIATE_WORKER_COUNTS(ChannelsKinds);

}  // namespace
}  // namespace weft
