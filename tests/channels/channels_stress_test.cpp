// Channel stress: producers and consumers that time out, get cancelled and select, on fibers across
// workers and plain threads, at several capacities. The invariant checked is the one a user relies
// on: every value whose send succeeded is received exactly once, and every value whose send failed
// came back to its sender (so sent + returned == attempted, and the receivers' sum equals the
// senders' sum of successes).
#include "channels/channels_test_util.hpp"

#include <weft/channels/channel.hpp>
#include <weft/channels/select.hpp>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class ChannelsStress : public test::WorkerCountTest {};

TEST_P(ChannelsStress, TimeoutsCancellationAndSelectsLoseNothing) {
  Runtime rt{config()};
  for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{7}, unbounded}) {
    auto [atx, arx] = make_channel<std::uint64_t>(cap);
    auto [btx, brx] = make_channel<std::uint64_t>(cap);
    constexpr int kSenders = 6, kReceivers = 4;
    const std::uint64_t per = test::scaled(5'000);
    std::atomic<std::uint64_t> sent_sum{0}, sent_count{0}, returned{0};
    std::atomic<std::uint64_t> recv_sum{0}, recv_count{0};
    std::vector<std::atomic<std::uint8_t>> seen(kSenders * per);
    std::atomic<std::uint64_t> dups{0};
    auto note = [&](std::uint64_t v) {
      if (seen[v].fetch_add(1) != 0) dups.fetch_add(1);
      recv_sum.fetch_add(v);
      recv_count.fetch_add(1);
    };
    auto sender = [&, atx = atx, btx = btx](int s) {
      for (std::uint64_t i = 0; i < per; ++i) {
        const std::uint64_t v = s * per + i;
        bool ok = false;
        switch ((s + i) % 4) {
          case 0:
            ok = atx.send(v).has_value();
            break;
          case 1: {
            auto r = btx.send_for(v, 50us);
            ok = r.has_value();
            if (!ok && r.error().value != v) dups.fetch_add(1000);  // not our value back
            break;
          }
          case 2:
            ok = atx.try_send(v).has_value();
            break;
          default: {
            auto a = on_send(atx, v, [] {});
            auto b = on_send(btx, v, [] {});
            auto r = select(a, b, after(50us, [] {}));
            ok = r && *r != 2;
            if (ok && (a.sent() == b.sent())) dups.fetch_add(1000);  // exactly one delivered
            break;
          }
        }
        if (ok) {
          sent_sum.fetch_add(v);
          sent_count.fetch_add(1);
        } else {
          returned.fetch_add(1);
        }
      }
    };
    std::atomic<bool> stop{false};
    auto receiver = [&, arx = arx, brx = brx](int r) {
      while (!stop.load()) {
        if (r % 2 == 0) {
          (void)select(on_recv(arx, note), on_recv(brx, note), after(200us, [] {}));
        } else {
          if (auto v = arx.recv_for(100us)) note(*v);
          if (auto v = brx.try_recv()) note(*v);
        }
      }
    };
    std::vector<JoinHandle<void>> senders, receivers;
    for (int s = 0; s < kSenders - 1; ++s) senders.push_back(rt.spawn(sender, s));
    std::thread sender_thread(sender, kSenders - 1);  // one plain-thread sender
    for (int r = 0; r < kReceivers - 1; ++r) receivers.push_back(rt.spawn(receiver, r));
    std::thread receiver_thread(receiver, kReceivers - 1);  // one plain-thread receiver
    // A victim receiver that is cancelled while blocked: it must not swallow a value.
    std::atomic<bool> victim_started{false};
    auto victim = rt.spawn([&, arx = arx] {
      victim_started = true;
      for (;;) {
        auto v = arx.recv();
        if (!v) return;
        note(*v);
      }
    });
    for (auto& h : senders) h.join();
    sender_thread.join();
    // Cancelled before it started, its join would throw instead of testing a blocked recv.
    EXPECT_TRUE(test::eventually([&] { return victim_started.load(); }));
    victim.cancel();
    victim.join();
    const bool drained = test::eventually(
        [&] { return recv_count.load() >= sent_count.load() && atx.size() + btx.size() == 0; }, std::chrono::seconds(120));
    stop = true;  // stop and join before asserting: a joinable std::thread must not be destroyed
    for (auto& h : receivers) h.join();
    receiver_thread.join();
    ASSERT_TRUE(drained);
    EXPECT_EQ(sent_count.load() + returned.load(), kSenders * per);
    EXPECT_EQ(recv_count.load(), sent_count.load());
    EXPECT_EQ(recv_sum.load(), sent_sum.load());
    EXPECT_EQ(dups.load(), 0u);
    EXPECT_EQ(arx.waiters() + brx.waiters(), 0u);
  }
}

INSTANTIATE_WORKER_COUNTS(ChannelsStress);

}  // namespace
}  // namespace weft
