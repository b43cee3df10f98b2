// Channel<T>: capacities (rendezvous, bounded, unbounded), per-sender order, no loss and no
// duplication across workers and plain threads, close semantics with blocked senders and
// receivers, timed forms, cancellation, values handed back, range-for.
#include "channels/channels_test_util.hpp"

#include <weft/channels/channel.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class ChannelsChannel : public test::WorkerCountTest {};

TEST(ChannelsChannelBasic, TryFormsAndCapacity) {
  auto [tx, rx] = make_channel<int>(2);
  EXPECT_EQ(tx.capacity(), 2u);
  EXPECT_TRUE(tx.try_send(1).has_value());
  EXPECT_TRUE(tx.try_send(2).has_value());
  auto full = tx.try_send(3);
  ASSERT_TRUE(test::has_error(full, channel_errc::full));
  EXPECT_EQ(full.error().value, 3);  // the value comes back
  EXPECT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx.try_recv().value(), 1);
  EXPECT_EQ(rx.try_recv().value(), 2);
  EXPECT_TRUE(test::has_error(rx.try_recv(), channel_errc::empty));
}

TEST(ChannelsChannelBasic, MoveOnlyValuesAndSendErrorHandsBack) {
  auto [tx, rx] = make_channel<std::unique_ptr<int>>(1);
  ASSERT_TRUE(tx.send(std::make_unique<int>(7)).has_value());
  auto r = tx.try_send(std::make_unique<int>(8));
  ASSERT_FALSE(r.has_value());
  ASSERT_TRUE(r.error().value);
  EXPECT_EQ(*r.error().value, 8);
  EXPECT_THROW(r.value(), std::system_error);
  EXPECT_EQ(*rx.recv().value(), 7);
}

TEST(ChannelsChannelBasic, RendezvousTrySendNeedsAReceiver) {
  auto [tx, rx] = make_channel<int>(0);
  EXPECT_TRUE(test::has_error(tx.try_send(1), channel_errc::full));
  EXPECT_TRUE(test::has_error(rx.try_recv(), channel_errc::empty));
}

TEST(ChannelsChannelBasic, CloseWhenLastSenderGoesDrainsThenClosed) {
  auto ch = make_channel<int>(4);
  Receiver<int> rx = ch.receiver;
  {
    Sender<int> a = std::move(ch.sender);
    Sender<int> b = a;
    ASSERT_TRUE(a.send(1).has_value());
    ASSERT_TRUE(b.send(2).has_value());
    Sender<int> c = std::move(a);
    EXPECT_FALSE(rx.is_closed());
  }
  EXPECT_TRUE(rx.is_closed());
  EXPECT_EQ(rx.recv().value(), 1);
  EXPECT_EQ(rx.recv().value(), 2);
  EXPECT_TRUE(test::has_error(rx.recv(), errc::closed));
  EXPECT_TRUE(test::has_error(rx.try_recv(), errc::closed));
}

TEST(ChannelsChannelBasic, SendAfterCloseHandsValueBack) {
  auto [tx, rx] = make_channel<std::string>(4);
  rx.close();
  auto r = tx.send("hello");
  ASSERT_TRUE(test::has_error(r, errc::closed));
  EXPECT_EQ(r.error().value, "hello");
}

TEST(ChannelsChannelBasic, LastReceiverGoneClosesForSenders) {
  auto ch = make_channel<int>(1);
  Sender<int> tx = std::move(ch.sender);
  { Receiver<int> gone = std::move(ch.receiver); }
  EXPECT_TRUE(test::has_error(tx.send(5), errc::closed));
}

TEST(ChannelsChannelBasic, UnboundedGrowsWithoutBlocking) {
  auto [tx, rx] = make_channel<std::uint64_t>(unbounded);
  const std::uint64_t n = test::scaled(200'000);
  for (std::uint64_t i = 0; i < n; ++i) ASSERT_TRUE(tx.try_send(i).has_value());
  EXPECT_EQ(rx.size(), n);
  for (std::uint64_t i = 0; i < n; ++i) ASSERT_EQ(rx.try_recv().value(), i);
  EXPECT_TRUE(test::has_error(rx.try_recv(), channel_errc::empty));
}

TEST(ChannelsChannelBasic, TimedFormsExpireOnPlainThread) {
  auto [tx, rx] = make_channel<int>(1);
  EXPECT_TRUE(test::has_error(rx.recv_for(5ms), std::errc::timed_out));
  EXPECT_TRUE(test::has_error(rx.recv_until(std::chrono::system_clock::now() + 2ms), std::errc::timed_out));
  ASSERT_TRUE(tx.send(1).has_value());
  auto r = tx.send_for(2, 5ms);
  ASSERT_TRUE(test::has_error(r, std::errc::timed_out));
  EXPECT_EQ(r.error().value, 2);
  EXPECT_TRUE(test::has_error(tx.send_for(3, 0ms), std::errc::timed_out));  // an expired deadline tries once
  EXPECT_EQ(rx.recv_for(0ms).value(), 1);                                    // ... and succeeds when it can
  EXPECT_EQ(rx.waiters(), 0u);
}

TEST_P(ChannelsChannel, TimedFormsExpireInFibers) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(0);
  rt.block_on([&] {
    EXPECT_TRUE(test::has_error(rx.recv_for(3ms), std::errc::timed_out));
    auto r = tx.send_for(9, 3ms);
    ASSERT_TRUE(test::has_error(r, std::errc::timed_out));
    EXPECT_EQ(r.error().value, 9);
  });
  EXPECT_EQ(tx.waiters(), 0u);
}

TEST_P(ChannelsChannel, RendezvousSendWaitsForReceiver) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(0);
  std::atomic<bool> sent{false};
  auto h = rt.spawn([&, tx = tx] {
    auto r = tx.send(42);
    sent = true;
    return r.has_value();
  });
  ASSERT_TRUE(test::waiters_reach(tx, 1));
  EXPECT_FALSE(sent.load());  // nobody received yet: the sender must still be waiting
  EXPECT_EQ(rx.recv().value(), 42);
  EXPECT_TRUE(h.join());
  EXPECT_TRUE(sent.load());
}

TEST_P(ChannelsChannel, BoundedSenderBlocksWhenFullAndResumesInOrder) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(2);
  auto h = rt.spawn([tx = tx] {
    for (int i = 0; i < 5; ++i) tx.send(i).value();
  });
  ASSERT_TRUE(test::waiters_reach(rx, 1));  // 0 and 1 buffered, 2 waits
  EXPECT_EQ(rx.size(), 2u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(rx.recv().value(), i);
  h.join();
}

// Spin before waiting (docs/channels.md), on one worker, where "another fiber is ready here" is
// deterministic: a recv on an empty channel whose sender is ready on the same worker yields to it
// and takes the value without queueing; with an expired deadline it neither spins nor queues.
TEST(ChannelsChannelSpin, ReceiverYieldsToAReadySenderInsteadOfQueueing) {
  Runtime rt{Config{.workers = 1}};
  rt.block_on([] {
    auto [tx, rx] = make_channel<int>(4);
    std::size_t waiters_seen = 99;
    auto sender = spawn([&, tx = tx] {
      waiters_seen = tx.waiters();  // the receiver is spinning, not queued
      tx.send(7).value();
    });
    EXPECT_EQ(rx.recv().value(), 7);
    sender.join();
    EXPECT_EQ(waiters_seen, 0u);
  });
}

TEST(ChannelsChannelSpin, ExpiredDeadlineNeitherSpinsNorQueues) {
  Runtime rt{Config{.workers = 1}};
  rt.block_on([] {
    auto [tx, rx] = make_channel<int>(1);
    bool peer_ran = false;
    auto peer = spawn([&] { peer_ran = true; });
    EXPECT_TRUE(test::has_error(rx.recv_for(0ms), std::errc::timed_out));
    ASSERT_TRUE(tx.send(1).has_value());
    auto r = tx.send_for(2, 0ms);  // full
    EXPECT_TRUE(test::has_error(r, std::errc::timed_out));
    EXPECT_FALSE(peer_ran);  // nothing yielded to it
    EXPECT_EQ(rx.waiters(), 0u);
    peer.join();
  });
}

// A sender that could spin (another fiber is ready on its worker) but finds a sender queued ahead
// of it queues behind that one: the values arrive in the order the senders started waiting.
TEST(ChannelsChannelSpin, SenderThatCouldSpinStaysBehindAQueuedOne) {
  Runtime rt{Config{.workers = 1}};
  auto [tx, rx] = make_channel<int>(1);
  ASSERT_TRUE(tx.send(0).has_value());  // full from here on
  auto first = rt.spawn([tx = tx] { tx.send(1).value(); });
  ASSERT_TRUE(test::waiters_reach(rx, 1));
  std::atomic<bool> stop{false};
  auto ready_peer = rt.spawn([&] {
    while (!stop.load()) this_fiber::yield();
  });
  auto second = rt.spawn([tx = tx] { tx.send(2).value(); });
  ASSERT_TRUE(test::waiters_reach(rx, 2));
  stop = true;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rx.recv().value(), i);
  first.join();
  second.join();
  ready_peer.join();
}

TEST_P(ChannelsChannel, PingPongAcrossWorkers) {
  Runtime rt{config()};
  auto [atx, arx] = make_channel<int>(1);
  auto [btx, brx] = make_channel<int>(1);
  const int n = static_cast<int>(test::scaled(20'000));
  auto ponger = rt.spawn([&, arx = arx, btx = btx] {
    for (int i = 0; i < n; ++i) btx.send(arx.recv().value() + 1).value();
  });
  int sum = 0;
  rt.block_on([&] {
    int v = 0;
    for (int i = 0; i < n; ++i) {
      atx.send(v).value();
      v = brx.recv().value();
      sum = v;
    }
  });
  ponger.join();
  EXPECT_EQ(sum, n);
}

// Many producers and consumers, fibers on every worker plus plain threads on both sides: every value
// arrives exactly once (count, sum and a per-value bitmap) and each producer's values in order.
void many_to_many(Runtime& rt, std::size_t capacity) {
  constexpr int kFiberProducers = 6, kThreadProducers = 2, kFiberConsumers = 5, kThreadConsumers = 2;
  constexpr int kProducers = kFiberProducers + kThreadProducers;
  const std::uint64_t per = test::scaled(20'000);
  auto [tx, rx] = make_channel<std::uint64_t>(capacity);
  std::vector<std::atomic<std::uint8_t>> seen(kProducers * per);
  std::atomic<std::uint64_t> count{0}, sum{0}, order_errors{0}, dups{0};
  auto consume = [&, rx = rx] {
    std::vector<std::uint64_t> last(kProducers, ~std::uint64_t{0});
    for (std::uint64_t v : rx) {
      const std::uint64_t p = v / per, i = v % per;
      if (last[p] != ~std::uint64_t{0} && i <= last[p]) order_errors.fetch_add(1);
      last[p] = i;
      if (seen[v].fetch_add(1) != 0) dups.fetch_add(1);
      count.fetch_add(1, std::memory_order_relaxed);
      sum.fetch_add(v, std::memory_order_relaxed);
    }
  };
  auto produce = [&, per](Sender<std::uint64_t> s, int p) {
    for (std::uint64_t i = 0; i < per; ++i) ASSERT_TRUE(s.send(p * per + i).has_value());
  };
  std::vector<JoinHandle<void>> hs;
  std::vector<std::thread> ts;
  for (int c = 0; c < kFiberConsumers; ++c) hs.push_back(rt.spawn(consume));
  for (int c = 0; c < kThreadConsumers; ++c) ts.emplace_back(consume);
  for (int p = 0; p < kFiberProducers; ++p) hs.push_back(rt.spawn(produce, tx, p));
  for (int p = kFiberProducers; p < kProducers; ++p) ts.emplace_back(produce, tx, p);
  { auto drop = std::move(tx); }  // the producers hold the remaining senders: the last one closes
  for (auto& h : hs) h.join();
  for (auto& t : ts) t.join();
  const std::uint64_t total = kProducers * per;
  EXPECT_EQ(count.load(), total);
  EXPECT_EQ(sum.load(), total * (total - 1) / 2);
  EXPECT_EQ(dups.load(), 0u);
  EXPECT_EQ(order_errors.load(), 0u);
}

TEST_P(ChannelsChannel, ManyToManyRendezvous) {
  Runtime rt{config()};
  many_to_many(rt, 0);
}
TEST_P(ChannelsChannel, ManyToManyBounded) {
  Runtime rt{config()};
  many_to_many(rt, 3);
}
TEST_P(ChannelsChannel, ManyToManyUnbounded) {
  Runtime rt{config()};
  many_to_many(rt, unbounded);
}

TEST_P(ChannelsChannel, CloseWakesBlockedReceiversAndSendersWithTheirValues) {
  Runtime rt{config()};
  auto [rtx, rrx] = make_channel<int>(0);  // receivers block here
  auto [stx, srx] = make_channel<int>(1);  // senders block here
  ASSERT_TRUE(stx.send(-1).has_value());
  std::vector<JoinHandle<bool>> receivers, senders;
  for (int i = 0; i < 4; ++i) receivers.push_back(rt.spawn([rrx = rrx] { return test::has_error(rrx.recv(), errc::closed); }));
  for (int i = 0; i < 4; ++i) {
    senders.push_back(rt.spawn([stx = stx, i] {
      auto r = stx.send(i);
      return test::has_error(r, errc::closed) && r.error().value == i;
    }));
  }
  std::thread blocked_thread_receiver([rrx = rrx] { EXPECT_TRUE(test::has_error(rrx.recv(), errc::closed)); });
  ASSERT_TRUE(test::waiters_reach(rrx, 5));
  ASSERT_TRUE(test::waiters_reach(srx, 4));
  rrx.close();
  srx.close();
  for (auto& h : receivers) EXPECT_TRUE(h.join());
  for (auto& h : senders) EXPECT_TRUE(h.join());
  blocked_thread_receiver.join();
  EXPECT_EQ(srx.recv().value(), -1);  // buffered before the close: still delivered
  EXPECT_TRUE(test::has_error(srx.recv(), errc::closed));
}

TEST_P(ChannelsChannel, CancelBlockedSendAndRecv) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<std::string>(0);
  auto s = rt.spawn([tx = tx] {
    auto r = tx.send("kept");
    return test::has_error(r, errc::cancelled) && r.error().value == "kept";
  });
  ASSERT_TRUE(test::waiters_reach(tx, 1));
  s.cancel();
  EXPECT_TRUE(s.join());
  EXPECT_EQ(tx.waiters(), 0u);
  auto r = rt.spawn([rx = rx] { return test::has_error(rx.recv(), errc::cancelled); });
  ASSERT_TRUE(test::waiters_reach(tx, 1));  // now the receiver
  r.cancel();
  EXPECT_TRUE(r.join());
  EXPECT_EQ(tx.waiters(), 0u);
  // The channel still works afterwards.
  auto late = rt.spawn([rx = rx] { return rx.recv().value(); });
  EXPECT_TRUE(tx.send("after").has_value());
  EXPECT_EQ(late.join(), "after");
}

TEST_P(ChannelsChannel, FibersAndPlainThreadsMix) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(0);
  const int n = static_cast<int>(test::scaled(5'000));
  std::thread producer([&, tx = tx] {
    for (int i = 0; i < n; ++i) tx.send(i).value();
  });
  auto consumer = rt.spawn([&, rx = rx] {
    long long s = 0;
    for (int i = 0; i < n; ++i) s += rx.recv().value();
    return s;
  });
  EXPECT_EQ(consumer.join(), static_cast<long long>(n) * (n - 1) / 2);
  producer.join();
  // and the other way round
  std::thread consumer_thread([&, rx = rx] {
    for (int i = 0; i < n; ++i) EXPECT_EQ(rx.recv().value(), i);
  });
  auto producer_fiber = rt.spawn([&, tx = tx] {
    for (int i = 0; i < n; ++i) tx.send(i).value();
  });
  producer_fiber.join();
  consumer_thread.join();
}

TEST_P(ChannelsChannel, RangeForEndsAtClose) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(8);
  auto h = rt.spawn([tx = std::move(tx)] {
    for (int i = 1; i <= 100; ++i) tx.send(i).value();
  });
  int sum = 0, count = 0;
  for (int v : rx) {
    sum += v;
    ++count;
  }
  h.join();
  EXPECT_EQ(count, 100);
  EXPECT_EQ(sum, 5050);
}

INSTANTIATE_WORKER_COUNTS(ChannelsChannel);

}  // namespace
}  // namespace weft
