// The seed sweep (label `stress`): tiny scenarios with each primitive (Mutex, Semaphore,
// ConditionVariable, Event, WaitGroup, Channel send/recv, select) under the scheduler's seeded
// shuffle mode, for seeds 1..WEFT_SEED_SWEEP (default 200; scripts/stress runs 100000). Odd seeds
// run on one worker, where the seed replays the interleaving exactly; even seeds on two, where
// woken fibers migrate between real threads. Each scenario checks its primitive's promise (mutual
// exclusion, the permit bound, no lost or duplicated value, every waiter released), and a failure
// names its seed:
//   WEFT_SCHED_SEED=<n> build/tests/sched_seed_sweep_test     (runs that one seed)
// A seed that hangs is named too, by a watchdog, before the process aborts.
#include "support/test_support.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace weft {
namespace {

using namespace std::chrono_literals;

// sweep_seeds: the seeds to run, [first, last]: WEFT_SCHED_SEED alone when it is set (it would
// override every Runtime's seed anyway), else 1..WEFT_SEED_SWEEP.
std::pair<std::uint64_t, std::uint64_t> sweep_seeds() {
  if (test::shuffled()) {
    const std::uint64_t seed = std::strtoull(std::getenv("WEFT_SCHED_SEED"), nullptr, 10);
    return {seed, seed};
  }
  const char* n = std::getenv("WEFT_SEED_SWEEP");
  return {1, n && *n ? std::strtoull(n, nullptr, 10) : 200};
}

unsigned workers_for(std::uint64_t seed) { return seed % 2 ? 1 : 2; }

// Each scenario runs in a fiber and records what broke in a Failures (empty: fine). One worker or
// two: the shared counters are atomics, and the checks read them after the fibers were joined. A
// fiber's last touch of the scenario's locals is its wg.done(): after it the scenario may return.
struct Failures {
  std::mutex mu;
  std::string text;
  void add(const std::string& what) {
    std::lock_guard lock(mu);
    text += what + "; ";
  }
};

void mutex_scenario(Failures& f) {
  Mutex m;
  std::atomic<int> inside{0};
  int count = 0;  // guarded by m
  WaitGroup wg;
  for (int i = 0; i < 3; ++i) {
    wg.add(1);
    (void)spawn([&] {
      for (int k = 0; k < 3; ++k) {
        std::scoped_lock lock(m);
        if (inside.fetch_add(1) != 0) f.add("mutex: two holders");
        this_fiber::yield();
        ++count;
        inside.fetch_sub(1);
      }
      wg.done();
    });
  }
  wg.wait().value();
  if (count != 9) f.add("mutex: count " + std::to_string(count));
}

void semaphore_scenario(Failures& f) {
  Semaphore sem(2);
  std::atomic<int> inside{0};
  WaitGroup wg;
  for (int i = 0; i < 4; ++i) {
    wg.add(1);
    (void)spawn([&] {
      sem.acquire().value();
      if (inside.fetch_add(1) >= 2) f.add("semaphore: a third holder");
      this_fiber::yield();
      inside.fetch_sub(1);
      sem.release();
      wg.done();
    });
  }
  wg.wait().value();
}

void condvar_scenario(Failures& f) {
  Mutex m;
  ConditionVariable cv;
  std::deque<int> queue;  // guarded by m
  bool closed = false;    // guarded by m
  std::atomic<int> sum{0};
  WaitGroup wg;
  for (int c = 0; c < 2; ++c) {
    wg.add(1);
    (void)spawn([&] {
      {
        std::unique_lock lock(m);
        for (;;) {
          cv.wait(lock, [&] { return !queue.empty() || closed; });
          if (queue.empty()) break;
          sum += queue.front();
          queue.pop_front();
        }
      }  // unlocked before done(): after it the scenario may return and `m` go
      wg.done();
    });
  }
  for (int i = 1; i <= 4; ++i) {
    {
      std::scoped_lock lock(m);
      queue.push_back(i);
    }
    cv.notify_one();
    this_fiber::yield();
  }
  {
    std::scoped_lock lock(m);
    closed = true;
  }
  cv.notify_all();
  wg.wait().value();
  if (sum != 10) f.add("condvar: sum " + std::to_string(sum));
}

void event_scenario(Failures& f) {
  Event go;                             // manual reset: releases everyone
  Event baton(EventMode::auto_reset);   // auto reset: one waiter per set()
  std::atomic<int> released{0}, batons{0};
  WaitGroup wg;
  for (int i = 0; i < 3; ++i) {
    wg.add(1);
    (void)spawn([&] {
      go.wait().value();
      ++released;
      baton.wait().value();
      ++batons;
      wg.done();
    });
  }
  this_fiber::yield();
  go.set();
  for (int i = 0; i < 3; ++i) {
    baton.set();
    while (batons.load() <= i) this_fiber::yield();  // one set(), one waiter through
  }
  wg.wait().value();
  if (released != 3 || batons != 3) f.add("event: released " + std::to_string(released) + ", batons " + std::to_string(batons));
}

void wait_group_scenario(Failures& f) {
  WaitGroup wg;
  std::atomic<int> done{0};
  wg.add(3);
  for (int i = 0; i < 3; ++i) {
    (void)spawn([&] {
      this_fiber::yield();
      ++done;
      wg.done();
    });
  }
  wg.wait().value();
  if (done != 3) f.add("wait_group: released with " + std::to_string(done) + " of 3 done");
}

void channel_scenario(Failures& f) {
  std::atomic<int> sum{0}, count{0};
  WaitGroup wg;
  {
    auto [tx, rx] = make_channel<int>(1);
    for (int p = 0; p < 2; ++p) {
      wg.add(1);
      (void)spawn([&, p, tx = tx] {
        for (int i = 0; i < 3; ++i) tx.send(10 * p + i).value();
        wg.done();
      });
    }
    for (int c = 0; c < 2; ++c) {
      wg.add(1);
      (void)spawn([&, rx = rx] {
        int last[2] = {-1, -1};  // per-sender order
        for (Result<int> v = rx.recv(); v; v = rx.recv()) {
          const int p = *v / 10;
          if (*v % 10 <= last[p]) f.add("channel: sender " + std::to_string(p) + " out of order");
          last[p] = *v % 10;
          sum += *v;
          ++count;
        }
        wg.done();
      });
    }
  }  // our handles go: the channel closes once both producers are done
  wg.wait().value();
  if (count != 6 || sum != 0 + 1 + 2 + 10 + 11 + 12) {
    f.add("channel: " + std::to_string(count) + " values, sum " + std::to_string(sum));
  }
}

void select_scenario(Failures& f) {
  auto [ta, ra] = make_channel<int>(1);
  auto [tb, rb] = make_channel<int>(0);  // rendezvous
  (void)spawn([ta = std::move(ta)] {
    for (int i = 1; i <= 3; ++i) ta.send(i).value();
  });
  (void)spawn([tb = std::move(tb)] {
    for (int i = 1; i <= 3; ++i) tb.send(100 * i).value();
  });
  bool open_a = true, open_b = true;
  int sum = 0;
  // A closed channel is always ready, so once one closes it leaves the select (Go sets it to nil):
  // selecting on it would spin without ever letting the other producer run.
  while (open_a && open_b) {
    auto taken = select(on_recv(ra, [&](Result<int> r) { r ? void(sum += *r) : void(open_a = false); }),
                        on_recv(rb, [&](Result<int> r) { r ? void(sum += *r) : void(open_b = false); }));
    if (!taken) {
      f.add("select: " + taken.error().message());
      return;
    }
  }
  for (Result<int> v = (open_a ? ra : rb).recv(); v; v = (open_a ? ra : rb).recv()) sum += *v;
  if (sum != 6 + 600) f.add("select: sum " + std::to_string(sum));
}

TEST(SchedSeedSweep, PrimitivesUnderEverySeed) {
  const auto [first, last] = sweep_seeds();
  // Watchdog: a lost wake-up hangs a scenario; name the seed before the test's timeout kills us.
  std::atomic<std::uint64_t> current{first};
  std::atomic<bool> finished{false};
  std::mutex mu;
  std::condition_variable cv;
  std::thread watchdog([&] {
    std::unique_lock lock(mu);
    std::uint64_t seen = 0;
    while (!cv.wait_for(lock, 30s, [&] { return finished.load(); })) {
      const std::uint64_t now = current.load();
      if (now == seen) {
        std::fprintf(stderr, "weft: seed sweep stuck for 30 s at WEFT_SCHED_SEED=%llu (%u workers)\n",
                     static_cast<unsigned long long>(now), workers_for(now));
        std::abort();
      }
      seen = now;
    }
  });
  std::uint64_t failed = 0;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    current.store(seed);
    Failures f;
    {
      Runtime rt{Config{.workers = workers_for(seed), .sched_seed = seed}};
      rt.spawn([&] {
          mutex_scenario(f);
          semaphore_scenario(f);
          condvar_scenario(f);
          event_scenario(f);
          wait_group_scenario(f);
          channel_scenario(f);
          select_scenario(f);
        }).join();
    }
    if (!f.text.empty()) {
      ADD_FAILURE() << "weft: seed sweep failed with WEFT_SCHED_SEED=" << seed << " (" << workers_for(seed)
                    << " workers): " << f.text;
      if (++failed == 10) break;  // enough to go on
    }
  }
  {
    std::lock_guard lock(mu);
    finished.store(true);
  }
  cv.notify_one();
  watchdog.join();
  std::printf("seed sweep: seeds %llu..%llu, %llu failed\n", static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(last), static_cast<unsigned long long>(failed));
}

}  // namespace
}  // namespace weft
