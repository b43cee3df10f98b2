// SlotRing, the buffer under every channel: FIFO across many laps at odd capacities, exact
// full/empty on the lock-free path, the frozen mode (the fast path refused, growth, thaw only with
// final storage), and lock-free producers and consumers racing a thread that freezes, works under
// its lock and thaws, with nothing lost, duplicated or reordered per producer.
#include "support/test_support.hpp"

#include <weft/channels/detail/slot_ring.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace weft {
namespace {

using detail::SlotRing;
constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

// Counted: counts live instances, so a leak or a double destruction shows.
struct Counted {
  static inline std::atomic<int> live{0};
  std::uint64_t v = 0;
  explicit Counted(std::uint64_t x) noexcept : v(x) { live.fetch_add(1); }
  Counted(Counted&& o) noexcept : v(o.v) { live.fetch_add(1); }
  Counted& operator=(Counted&&) = delete;
  ~Counted() { live.fetch_sub(1); }
};

// ThrowingMove: T whose move may throw; its ring must never take the lock-free path.
struct ThrowingMove {
  std::uint64_t v = 0;
  explicit ThrowingMove(std::uint64_t x) : v(x) {}
  ThrowingMove(ThrowingMove&& o) noexcept(false) : v(o.v) {}
};

// locked_push / locked_pop: what the channel does under its lock.
template <class T>
void locked_push(SlotRing<T>& r, T v) {
  r.freeze();
  r.push_locked(std::move(v));
}
template <class T>
T locked_pop(SlotRing<T>& r) {
  r.freeze();
  return r.pop_locked();
}

TEST(ChannelsSlotRing, StartsFrozenAndThawsOnlyWithFinalStorage) {
  SlotRing<std::uint64_t> r(5);
  std::uint64_t v = 1;
  EXPECT_FALSE(r.try_push(v)) << "a new ring is frozen";
  EXPECT_TRUE(r.thaw()) << "5 slots fit the eager budget: final at once";
  EXPECT_TRUE(r.try_push(v));

  SlotRing<std::uint64_t> unbounded(kUnbounded);
  EXPECT_FALSE(unbounded.thaw()) << "an unbounded ring's storage is never final";
  SlotRing<std::uint64_t> rendezvous(0);
  EXPECT_FALSE(rendezvous.thaw());
  EXPECT_TRUE(rendezvous.full_locked());
  SlotRing<ThrowingMove> throwing(4);
  EXPECT_FALSE(throwing.thaw()) << "a move that may throw could leave a claimed slot unfilled";
}

TEST(ChannelsSlotRing, FastPathIsFifoAndExactAtOddCapacities) {
  for (std::size_t cap : {1u, 2u, 3u, 5u, 7u, 1000u}) {
    SlotRing<std::uint64_t> r(cap);
    ASSERT_TRUE(r.thaw());
    std::uint64_t next_in = 0, next_out = 0;
    for (int round = 0; round < 50; ++round) {
      // Fill to exactly cap, drain part of it: the positions walk across many laps.
      while (next_in - next_out < cap) {
        std::uint64_t v = next_in;
        ASSERT_TRUE(r.try_push(v)) << "cap " << cap;
        ++next_in;
      }
      std::uint64_t extra = 999;
      EXPECT_FALSE(r.try_push(extra)) << "cap " << cap << ": full";
      EXPECT_EQ(r.size_hint(), cap);
      const std::uint64_t take = round % 2 ? cap : (cap + 1) / 2;
      for (std::uint64_t i = 0; i < take; ++i) {
        std::optional<std::uint64_t> out;
        ASSERT_TRUE(r.try_pop(out));
        EXPECT_EQ(*out, next_out++);
      }
    }
    while (next_out < next_in) {
      std::optional<std::uint64_t> out;
      ASSERT_TRUE(r.try_pop(out));
      EXPECT_EQ(*out, next_out++);
    }
    std::optional<std::uint64_t> out;
    EXPECT_FALSE(r.try_pop(out)) << "empty";
    EXPECT_EQ(r.size_hint(), 0u);
  }
}

TEST(ChannelsSlotRing, FrozenRefusesTheFastPathAndLockedOpsContinueTheOrder) {
  SlotRing<std::uint64_t> r(3);
  ASSERT_TRUE(r.thaw());
  std::uint64_t a = 1, b = 2;
  ASSERT_TRUE(r.try_push(a));
  ASSERT_TRUE(r.try_push(b));
  r.freeze();
  std::uint64_t c = 3;
  std::optional<std::uint64_t> out;
  EXPECT_FALSE(r.try_push(c));
  EXPECT_FALSE(r.try_pop(out));
  EXPECT_EQ(r.size_locked(), 2u);
  r.push_locked(3);
  EXPECT_TRUE(r.full_locked());
  EXPECT_EQ(r.pop_locked(), 1u);
  ASSERT_TRUE(r.thaw());
  ASSERT_TRUE(r.try_pop(out));
  EXPECT_EQ(*out, 2u);
  ASSERT_TRUE(r.try_pop(out));
  EXPECT_EQ(*out, 3u);
}

TEST(ChannelsSlotRing, GrowsUnderTheLockUpToCapacityKeepingOrder) {
  // 16-byte slots: 100,000 of them exceed the eager budget, so storage doubles from 16 as it fills.
  constexpr std::size_t kCap = 100'000;
  SlotRing<std::uint64_t> r(kCap);
  EXPECT_FALSE(r.thaw()) << "not final until it holds kCap slots";
  std::uint64_t in = 0, out = 0;
  // Two in, one out: the head is mid-ring whenever the storage grows.
  while (!r.full_locked()) {
    locked_push(r, in++);
    if (!r.full_locked()) locked_push(r, in++);
    ASSERT_EQ(locked_pop(r), out++);
    locked_push(r, in++);
  }
  EXPECT_EQ(r.size_locked(), kCap);
  ASSERT_TRUE(r.thaw()) << "kCap slots now: final";
  std::optional<std::uint64_t> v;
  while (r.try_pop(v)) ASSERT_EQ(*v, out++);
  EXPECT_EQ(out, in);
}

TEST(ChannelsSlotRing, UnboundedGrowsWithoutLimitAndDestroysWhatItHolds) {
  Counted::live = 0;
  {
    SlotRing<Counted> r(kUnbounded);
    r.freeze();
    for (std::uint64_t i = 0; i < 10'000; ++i) r.push_locked(Counted(i));
    EXPECT_EQ(r.size_locked(), 10'000u);
    EXPECT_FALSE(r.full_locked());
    for (std::uint64_t i = 0; i < 4'000; ++i) EXPECT_EQ(r.pop_locked().v, i);
    EXPECT_EQ(Counted::live.load(), 6'000);
  }
  EXPECT_EQ(Counted::live.load(), 0) << "the destructor destroys the values still held";
}

// Producers and consumers on the lock-free path; a third party repeatedly takes "the channel lock",
// freezes, moves values with the locked operations and thaws. Every value arrives exactly once,
// and each producer's values arrive in order at each consumer.
TEST(ChannelsSlotRing, LockFreeAndLockedOperationsRaceWithoutLossOrReorder) {
  constexpr int kProducers = 3, kConsumers = 2;
  const std::uint64_t per = test::scaled(50'000);
  SlotRing<std::uint64_t> r(7);
  std::mutex lock;  // stands for the channel lock: freeze/locked ops/thaw happen only under it
  {
    std::scoped_lock g(lock);
    ASSERT_TRUE(r.thaw());
  }
  std::atomic<std::uint64_t> received{0};
  std::atomic<bool> order_ok{true};
  std::vector<std::atomic<std::uint8_t>> seen(kProducers * per);
  constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();
  auto note = [&](std::uint64_t v, std::vector<std::uint64_t>& last) {
    const std::uint64_t p = v / per, i = v % per;
    if (last[p] != kNone && i <= last[p]) order_ok = false;
    last[p] = i;
    seen[v].fetch_add(1);
    received.fetch_add(1);
  };
  std::vector<std::thread> ts;
  for (int p = 0; p < kProducers; ++p) {
    ts.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < per; ++i) {
        std::uint64_t v = p * per + i;
        while (!r.try_push(v)) {
          std::scoped_lock g(lock);  // frozen or full: the locked path, as a channel would
          r.freeze();
          if (!r.full_locked()) {
            r.push_locked(std::move(v));
            break;
          }
        }
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    ts.emplace_back([&] {
      std::vector<std::uint64_t> last(kProducers, kNone);
      std::optional<std::uint64_t> out;
      while (received.load() < kProducers * per) {
        if (r.try_pop(out)) {
          note(*out, last);
          continue;
        }
        std::scoped_lock g(lock);
        r.freeze();
        if (r.size_locked() != 0) note(r.pop_locked(), last);
        r.thaw();  // as a quiet channel operation would
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(received.load(), kProducers * per);
  for (std::size_t v = 0; v < seen.size(); ++v) ASSERT_EQ(seen[v].load(), 1) << "value " << v;
  EXPECT_TRUE(order_ok.load());
}

}  // namespace
}  // namespace weft
