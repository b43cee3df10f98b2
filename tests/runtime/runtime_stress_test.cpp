// Stress: wake-up storms from plain threads into fibers across workers, and spawn/join churn.
// Each round must complete; a lost wake-up shows up as a fiber that never finishes, which the
// bounded waits turn into a failure instead of a hang.
#include "support/test_support.hpp"

#include <weft/sched/waker.hpp>

#include <atomic>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class RuntimeStress : public test::WorkerCountTest {};

// Producers on plain threads post tokens to fibers and wake them; each fiber consumes exactly
// the tokens meant for it. A lost wake-up leaves a fiber parked with a token pending forever.
TEST_P(RuntimeStress, WakeupStormFromPlainThreadsLosesNothing) {
  Runtime rt{config()};
  constexpr int kFibers = 16;
  const int kRounds = static_cast<int>(test::scaled(10000));
  struct Mailbox {
    std::atomic<int> posted{0};
    std::atomic<int> consumed{0};
    sched::Waker waker;
    std::atomic<bool> ready{false};
  };
  std::vector<Mailbox> boxes(kFibers);
  std::vector<JoinHandle<void>> fibers;
  for (int f = 0; f < kFibers; ++f) {
    fibers.push_back(rt.spawn([&box = boxes[f], kRounds] {
      box.waker = sched::Waker::current();
      box.ready.store(true);
      while (box.consumed.load() < kRounds) {
        if (box.posted.load() > box.consumed.load()) {
          box.consumed.fetch_add(1);
        } else {
          sched::park();
        }
      }
    }));
  }
  ASSERT_TRUE(test::eventually([&] {
    for (auto& b : boxes) {
      if (!b.ready.load()) return false;
    }
    return true;
  }));
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&, p] {
      for (int r = 0; r < kRounds; ++r) {
        for (int f = p; f < kFibers; f += 2) {
          // Wait until the fiber caught up so every wake-up matters (a storm of single tokens).
          while (boxes[f].posted.load() - boxes[f].consumed.load() > 0) std::this_thread::yield();
          boxes[f].posted.fetch_add(1);
          boxes[f].waker.wake();
        }
      }
    });
  }
  for (auto& t : producers) t.join();
  const bool all_done = test::eventually(
      [&] {
        for (auto& f : fibers) {
          if (!f.is_finished()) return false;
        }
        return true;
      },
      60s);
  ASSERT_TRUE(all_done) << "a fiber missed a wake-up";
  for (auto& f : fibers) f.join();
}

// Fibers on different workers wake each other in a ring; every hop is a cross-worker wake-up.
TEST_P(RuntimeStress, WakeupRingAcrossWorkers) {
  Runtime rt{config()};
  constexpr int kFibers = 8;
  const int kLaps = static_cast<int>(test::scaled(5000));
  std::vector<sched::Waker> wakers(kFibers);
  std::atomic<int> token{0};  // whose turn: token % kFibers
  std::atomic<int> ready{0};
  std::vector<JoinHandle<void>> hs;
  for (int f = 0; f < kFibers; ++f) {
    hs.push_back(rt.spawn([&, f] {
      wakers[f] = sched::Waker::current();
      ready.fetch_add(1);
      while (ready.load() < kFibers) this_fiber::yield();
      for (int lap = 0; lap < kLaps; ++lap) {
        while (token.load() % kFibers != f) sched::park();
        token.fetch_add(1);
        wakers[(f + 1) % kFibers].wake();
      }
    }));
  }
  const bool done = test::eventually(
      [&] {
        for (auto& h : hs) {
          if (!h.is_finished()) return false;
        }
        return true;
      },
      120s);
  ASSERT_TRUE(done) << "the ring stalled at token " << token.load();
  for (auto& h : hs) h.join();
  EXPECT_EQ(token.load(), kFibers * kLaps);
}

TEST_P(RuntimeStress, SpawnJoinChurnFromManyThreads) {
  Runtime rt{config()};
  const int per_thread = static_cast<int>(test::scaled(50000));
  std::atomic<long> sum{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < per_thread; i += 100) {
        std::vector<JoinHandle<int>> hs;
        for (int k = 0; k < 100; ++k) hs.push_back(rt.spawn([k] { return k; }));
        for (auto& h : hs) sum.fetch_add(h.join());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sum.load(), 4L * (per_thread / 100) * 4950);
}

INSTANTIATE_WORKER_COUNTS(RuntimeStress);

}  // namespace
}  // namespace weft
