// select: the ready branch wins, fairness among ready branches (statistical, bounded), default,
// timers, losers cancelled (a losing send keeps its value), closed channels, cancellation, plain
// threads, select meeting select on a rendezvous channel, and exactly-once delivery when selects
// race on both sides of two channels.
#include "channels/channels_test_util.hpp"

#include <weft/channels/channel.hpp>
#include <weft/channels/select.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class ChannelsSelect : public test::WorkerCountTest {};

TEST(ChannelsSelectBasic, TakesTheReadyBranch) {
  auto [atx, arx] = make_channel<int>(1);
  auto [btx, brx] = make_channel<int>(1);
  ASSERT_TRUE(btx.send(5).has_value());
  int got = 0;
  auto r = select(on_recv(arx, [&](int v) { got = -v; }), on_recv(brx, [&](int v) { got = v; }));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 1u);
  EXPECT_EQ(got, 5);
  EXPECT_EQ(arx.waiters() + brx.waiters(), 0u);
}

TEST(ChannelsSelectBasic, DefaultWhenNothingReadyConsumesNothing) {
  auto [tx, rx] = make_channel<int>(0);
  bool def = false;
  auto send = on_send(tx, 7, [] {});
  auto r = select(on_recv(rx, [](int) {}), send, otherwise([&] { def = true; }));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 2u);
  EXPECT_TRUE(def);
  EXPECT_FALSE(send.sent());
  EXPECT_EQ(send.value(), 7);
  EXPECT_EQ(tx.waiters(), 0u);
}

TEST(ChannelsSelectBasic, TimerFiresWhenNothingElseDoes) {
  auto [tx, rx] = make_channel<int>(1);
  bool fired = false;
  auto r = select(on_recv(rx, [](int) {}), after(5ms, [&] { fired = true; }));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 1u);
  EXPECT_TRUE(fired);
  EXPECT_EQ(rx.waiters(), 0u);  // the losing recv was withdrawn
  ASSERT_TRUE(tx.try_send(1).has_value());
  EXPECT_EQ(rx.try_recv().value(), 1);  // and took nothing
  auto r2 = select(on_recv(rx, [](int) {}), until(std::chrono::system_clock::now() - 1s, [] {}));
  EXPECT_EQ(r2.value(), 1u);  // a past deadline is ready at once
}

TEST(ChannelsSelectBasic, ClosedChannelsAreReady) {
  auto [tx, rx] = make_channel<int>(1);
  tx.close();
  bool saw_closed = false;
  auto r = select(on_recv(rx, [&](Result<int> v) { saw_closed = !v && v.error() == errc::closed; }));
  EXPECT_EQ(r.value(), 0u);
  EXPECT_TRUE(saw_closed);
  EXPECT_TRUE(test::has_error(select(on_recv(rx, [](int) {})), errc::closed));
  auto send = on_send(tx, 3, [] {});
  EXPECT_TRUE(test::has_error(select(send), errc::closed));
  EXPECT_EQ(send.value(), 3);  // handed back
}

TEST_P(ChannelsSelect, WakesOnASendFromAnotherFiber) {
  Runtime rt{config()};
  auto [atx, arx] = make_channel<int>(0);
  auto [btx, brx] = make_channel<std::string>(0);
  auto h = rt.spawn([&] {
    std::string got;
    auto r = select(on_recv(arx, [](int) {}), on_recv(brx, [&](std::string s) { got = s; }));
    return r && *r == 1 && got == "b";
  });
  ASSERT_TRUE(test::waiters_reach(brx, 1));
  ASSERT_TRUE(btx.send("b").has_value());
  EXPECT_TRUE(h.join());
  EXPECT_EQ(arx.waiters() + brx.waiters(), 0u);
}

TEST_P(ChannelsSelect, LosingSendKeepsItsValue) {
  Runtime rt{config()};
  auto [atx, arx] = make_channel<std::string>(0);  // nobody ever receives here
  auto [btx, brx] = make_channel<int>(0);
  auto h = rt.spawn([&, atx = atx] {
    auto send = on_send(atx, std::string("not delivered"), [] {});
    int got = 0;
    auto r = select(send, on_recv(brx, [&](int v) { got = v; }));
    return r && *r == 1 && got == 9 && !send.sent() && send.value() == "not delivered";
  });
  ASSERT_TRUE(test::waiters_reach(arx, 1));
  ASSERT_TRUE(test::waiters_reach(brx, 1));
  ASSERT_TRUE(btx.send(9).has_value());
  EXPECT_TRUE(h.join());
  EXPECT_EQ(arx.waiters(), 0u);
  EXPECT_TRUE(test::has_error(arx.try_recv(), channel_errc::empty));
}

TEST_P(ChannelsSelect, FairAmongReadyBranches) {
  Runtime rt{config()};
  const int rounds = static_cast<int>(test::scaled(4'000) < 400 ? 400 : test::scaled(4'000));
  auto [atx, arx] = make_channel<int>(unbounded);
  auto [btx, brx] = make_channel<int>(unbounded);
  auto [ctx, crx] = make_channel<int>(unbounded);
  for (int i = 0; i < rounds; ++i) {
    ASSERT_TRUE(atx.send(i).has_value());
    ASSERT_TRUE(btx.send(i).has_value());
    ASSERT_TRUE(ctx.send(i).has_value());
  }
  int counts[3] = {0, 0, 0};
  rt.block_on([&] {
    for (int i = 0; i < rounds; ++i) {
      auto r = select(on_recv(arx, [](int) {}), on_recv(brx, [](int) {}), on_recv(crx, [](int) {}));
      ASSERT_TRUE(r.has_value());
      ++counts[*r];
    }
  });
  // Each branch is always ready, so each should win about a third. The bound is 8 standard
  // deviations wide: a fair select fails it with probability below 1e-14; one that always starts
  // at the same branch fails it every time.
  for (int c : counts) {
    EXPECT_GT(c, rounds / 3 - rounds / 6) << counts[0] << " " << counts[1] << " " << counts[2];
    EXPECT_LT(c, rounds / 3 + rounds / 6) << counts[0] << " " << counts[1] << " " << counts[2];
  }
}

TEST_P(ChannelsSelect, CancelledWhileWaiting) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(0);
  auto [t2, r2] = make_channel<int>(0);
  auto h = rt.spawn([&] {
    auto send = on_send(t2, 11, [] {});
    auto r = select(on_recv(rx, [](int) {}), send);
    return test::has_error(r, errc::cancelled) && send.value() == 11 && !send.sent();
  });
  ASSERT_TRUE(test::waiters_reach(rx, 1));
  ASSERT_TRUE(test::waiters_reach(t2, 1));
  h.cancel();
  EXPECT_TRUE(h.join());
  EXPECT_EQ(rx.waiters() + t2.waiters(), 0u);
}

TEST_P(ChannelsSelect, PlainThreadSelects) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(0);
  auto h = rt.spawn([tx = tx] {
    this_fiber::sleep_for(1ms).value();
    tx.send(3).value();
  });
  int got = 0;
  auto r = select(on_recv(rx, [&](int v) { got = v; }), after(60s, [] {}));
  EXPECT_EQ(r.value(), 0u);
  EXPECT_EQ(got, 3);
  h.join();
}

TEST_P(ChannelsSelect, SelectMeetsSelectOnRendezvous) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(0);
  auto [q1tx, q1rx] = make_channel<int>(0);  // never ready: makes both sides real selects
  auto [q2tx, q2rx] = make_channel<int>(0);
  const int n = static_cast<int>(test::scaled(3'000));
  auto sender = rt.spawn([&, tx = tx] {
    for (int i = 0; i < n; ++i) {
      auto r = select(on_send(tx, i, [] {}), on_recv(q1rx, [](int) {}));
      if (!r || *r != 0) return false;
    }
    return true;
  });
  long long sum = 0;
  auto receiver = rt.spawn([&, rx = rx] {
    for (int i = 0; i < n; ++i) {
      auto r = select(on_recv(rx, [&](int v) { sum += v; }), on_recv(q2rx, [](int) {}));
      if (!r || *r != 0) return false;
    }
    return true;
  });
  EXPECT_TRUE(sender.join());
  EXPECT_TRUE(receiver.join());
  EXPECT_EQ(sum, static_cast<long long>(n) * (n - 1) / 2);
}

TEST_P(ChannelsSelect, SendAndRecvOnOneRendezvousChannelPairWithOthers) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(0);
  auto other = rt.spawn([rx = rx] { return rx.recv().value(); });
  int got = -1;
  auto r = rt.block_on([&] { return select(on_send(tx, 42, [] {}), on_recv(rx, [&](int v) { got = v; })); });
  EXPECT_EQ(r.value(), 0u);  // never paired with itself: its send went to the other receiver
  EXPECT_EQ(other.join(), 42);
  EXPECT_EQ(got, -1);
}

// Selects on both sides of two channels, plus plain senders and receivers: every value is
// received exactly once, and a losing send never delivers.
TEST_P(ChannelsSelect, RacingSelectsDeliverExactlyOnce) {
  Runtime rt{config()};
  for (std::size_t cap : {std::size_t{0}, std::size_t{2}}) {
    auto [atx, arx] = make_channel<std::uint64_t>(cap);
    auto [btx, brx] = make_channel<std::uint64_t>(cap);
    constexpr int kSenders = 4, kReceivers = 3;
    const std::uint64_t per = test::scaled(4'000);
    std::vector<std::atomic<std::uint8_t>> seen(kSenders * per);
    std::atomic<std::uint64_t> received{0}, dups{0};
    auto note = [&](std::uint64_t v) {
      if (seen[v].fetch_add(1) != 0) dups.fetch_add(1);
      received.fetch_add(1);
    };
    std::vector<JoinHandle<void>> hs;
    for (int s = 0; s < kSenders; ++s) {
      hs.push_back(rt.spawn([&, s, atx = atx, btx = btx] {
        for (std::uint64_t i = 0; i < per; ++i) {
          const std::uint64_t v = s * per + i;
          if (s == 0) {  // one plain sender
            ASSERT_TRUE(((i & 1) ? atx : btx).send(v).has_value());
          } else {
            ASSERT_TRUE(select(on_send(atx, v, [] {}), on_send(btx, v, [] {})).has_value());
          }
        }
      }));
    }
    const std::uint64_t total = kSenders * per;
    std::atomic<bool> stop{false};
    for (int r = 0; r < kReceivers; ++r) {
      hs.push_back(rt.spawn([&, r, arx = arx, brx = brx] {
        while (!stop.load()) {
          if (r == 0) {  // one plain receiver, timed so it notices `stop`
            if (auto v = arx.recv_for(1ms)) note(*v);
          } else {
            (void)select(on_recv(arx, note), on_recv(brx, note), after(1ms, [] {}));
          }
        }
      }));
    }
    ASSERT_TRUE(test::eventually([&] { return received.load() >= total; }, std::chrono::seconds(120)));
    stop = true;
    for (auto& h : hs) h.join();
    EXPECT_EQ(received.load(), total);
    EXPECT_EQ(dups.load(), 0u);
    EXPECT_EQ(arx.waiters() + brx.waiters(), 0u);
  }
}

INSTANTIATE_WORKER_COUNTS(ChannelsSelect);

}  // namespace
}  // namespace weft
