// workloads: the workload programs of ../shared/DESIGN.md. `workloads [NAME...]` runs the named
// workloads (all when none) and prints one line per result:
//   <workload> <who> <metric>=<value> <unit>
// where <who> is weft-w<N> (N workers) or the baseline's name. Ratios against a baseline are
// measured in the same run and printed as their own lines (metric ratio_to_<baseline>).
//
// Workloads so far:
//   w1_spawn    spawn 1,000,000 tiny tasks from main, each increments an atomic; join them all
//   yield_ping  two fibers on one worker yield to each other; ns per switch vs a raw
//               boost::context switch (bench/baseline)
//   w2_pingpong two fibers exchange a token over two capacity-1 channels, 1,000,000 round trips;
//               ns per round trip, on 1 and 2 workers
//   w3_pipeline source -> 3 transform stages (+1 each) -> sink over capacity-1024 channels,
//               5,000,000 u64 items, sum checked; items/s, on 1 and 2 workers
//   w4_fanin    8 producers x 1,000,000 items into one capacity-1024 channel, 1 consumer, sum
//               checked; items/s, on 1 and 2 workers
//   mutex_contended  8 fibers on 2 workers each take a weft::Mutex 200,000 times to increment a
//               shared counter (checked); lock/unlock pairs per second (Go: sync.Mutex at
//               GOMAXPROCS(2); Tokio: tokio::sync::Mutex on 2 workers; bench/sync_bench has std::mutex)
//   w7_nop      32 fibers on one worker issue NOPs through weft vs a raw liburing loop that
//               submits batches of 32 (bench/baseline); ops/s, io_uring_enter calls per op
//   w7_flags    the ring setup flag sets side by side, one worker each: w7_nop's NOP throughput
//               and enters per op, and a pipe ping-pong between two fibers (ns per round trip:
//               latency, a completion per wait)
//   w8_wake     cross-ring wake-ups, IORING_OP_MSG_RING vs the eventfd in the same run: two
//               threads that each own a ring wake each other in turn (ns per wake, syscalls per
//               wake), and w2_pingpong on 2 workers with each
#include "baseline/raw_nop.hpp"
#include "baseline/raw_switch.hpp"
#include "mutex_increments.hpp"

#include <weft/io/ops.hpp>
#include <weft/io/uring_driver.hpp>

#include <weft/weft.hpp>

#include <fcntl.h>
#include <linux/io_uring.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <latch>
#include <thread>
#include <optional>
#include <system_error>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void line(const char* workload, const std::string& who, const char* metric, double value, const char* unit) {
  std::printf("%s %s %s=%.4g %s\n", workload, who.c_str(), metric, value, unit);
  std::fflush(stdout);
}

std::string weft_w(unsigned n) { return "weft-w" + std::to_string(n); }

// Best of `reps` runs: the machine is shared, the best run is the least disturbed one.
template <class F>
double best_of(int reps, F&& f, bool higher_is_better) {
  double best = higher_is_better ? 0.0 : 1e300;
  for (int i = 0; i < reps; ++i) {
    const double v = f();
    best = higher_is_better ? std::max(best, v) : std::min(best, v);
  }
  return best;
}

void w1_spawn() {
  constexpr int kTasks = 1'000'000;
  for (unsigned workers : {1u, 2u}) {
    weft::Runtime rt{weft::Config{.workers = workers}};
    std::vector<weft::JoinHandle<void>> handles;
    handles.reserve(kTasks);
    const double rate = best_of(3, [&] {
      std::atomic<std::uint64_t> count{0};
      const auto t0 = Clock::now();
      for (int i = 0; i < kTasks; ++i) {
        handles.push_back(rt.spawn([&count] { count.fetch_add(1, std::memory_order_relaxed); }));
      }
      for (auto& h : handles) h.join();
      const double s = seconds_since(t0);
      handles.clear();
      if (count.load() != kTasks) {
        std::fprintf(stderr, "w1_spawn: count %llu != %d\n", static_cast<unsigned long long>(count.load()), kTasks);
        std::exit(1);
      }
      return kTasks / s;
    }, true);
    line("w1_spawn", weft_w(workers), "tasks_per_s", rate, "tasks/s");
    std::uint64_t parks = 0, started = 0;
    for (const auto& st : rt.stats()) {
      parks += st.parks;
      started += st.tasks_started;
    }
    line("w1_spawn", weft_w(workers), "parks_per_1k_tasks", 1000.0 * parks / started, "parks");
  }
}

void yield_ping() {
  constexpr int kYields = 2'000'000;  // per fiber
  const double raw = best_of(5, [] { return weft::bench::raw_switch_ns(4'000'000); }, false);
  line("yield_ping", "raw-boost-fiber", "ns_per_switch", raw, "ns");
  weft::Runtime rt{weft::Config{.workers = 1}};
  const double ns = best_of(5, [&] {
    return rt.block_on([] {
      auto player = [] {
        for (int i = 0; i < kYields; ++i) weft::this_fiber::yield();
      };
      const auto t0 = Clock::now();
      auto a = weft::spawn(player);
      auto b = weft::spawn(player);
      a.join();
      b.join();
      return seconds_since(t0) * 1e9 / (2.0 * kYields);
    });
  }, false);
  line("yield_ping", weft_w(1), "ns_per_switch", ns, "ns");
  line("yield_ping", weft_w(1), "ratio_to_raw", ns / raw, "x");
}

void w7_nop() {
  constexpr unsigned kBatch = 32;  // fibers, and the raw loop's batch
  constexpr std::uint64_t kTotal = 4'000'000;
  static_assert(kBatch == 32, "the fibers below each issue kTotal / 32 NOPs");
  const double raw = best_of(3, [] { return weft::bench::raw_nop_per_s(kTotal, kBatch); }, true);
  line("w7_nop", "raw-liburing-b32", "ops_per_s", raw, "ops/s");
  weft::Runtime rt{weft::Config{.workers = 1}};
  double enters_per_op = 0;
  const double ops = best_of(3, [&] {
    return rt.block_on([&] {
      const auto before = weft::io::current_uring_stats();
      const auto t0 = Clock::now();
      std::vector<weft::JoinHandle<void>> fibers;
      for (unsigned f = 0; f < kBatch; ++f) {
        fibers.push_back(weft::spawn([] {
          for (std::uint64_t i = 0; i < kTotal / 32; ++i) weft::io::nop().value();
        }));
      }
      for (auto& h : fibers) h.join();
      const double s = seconds_since(t0);
      const auto after = weft::io::current_uring_stats();
      enters_per_op = static_cast<double>(after.enters - before.enters) / kTotal;
      return kTotal / s;
    });
  }, true);
  line("w7_nop", weft_w(1), "ops_per_s", ops, "ops/s");
  line("w7_nop", weft_w(1), "enters_per_op", enters_per_op, "calls");
  line("w7_nop", weft_w(1), "ratio_to_raw", ops / raw, "x");
}

void check_sum(const char* workload, std::uint64_t got, std::uint64_t want) {
  if (got != want) {
    std::fprintf(stderr, "%s: sum %llu != %llu\n", workload, static_cast<unsigned long long>(got),
                 static_cast<unsigned long long>(want));
    std::exit(1);
  }
}

// pingpong_ns_per_rt: from a fiber, a spawned fiber and the caller exchange a token over two
// capacity-1 channels `round_trips` times (the token is checked); ns per round trip.
double pingpong_ns_per_rt(const char* workload, int round_trips) {
  auto [ping_tx, ping_rx] = weft::make_channel<std::uint64_t>(1);
  auto [pong_tx, pong_rx] = weft::make_channel<std::uint64_t>(1);
  const auto t0 = Clock::now();
  auto ponger = weft::spawn([round_trips, ping_rx = std::move(ping_rx), pong_tx = std::move(pong_tx)] {
    for (int i = 0; i < round_trips; ++i) pong_tx.send(ping_rx.recv().value() + 1).value();
  });
  std::uint64_t token = 0;
  for (int i = 0; i < round_trips; ++i) {
    ping_tx.send(token).value();
    token = pong_rx.recv().value();
  }
  ponger.join();
  const double s = seconds_since(t0);
  check_sum(workload, token, static_cast<std::uint64_t>(round_trips));
  return s * 1e9 / round_trips;
}

void w2_pingpong() {
  constexpr int kRoundTrips = 1'000'000;
  for (unsigned workers : {1u, 2u}) {
    weft::Runtime rt{weft::Config{.workers = workers}};
    const double ns = best_of(
        5, [&] { return rt.block_on([] { return pingpong_ns_per_rt("w2_pingpong", kRoundTrips); }); }, false);
    line("w2_pingpong", weft_w(workers), "ns_per_rt", ns, "ns");
  }
}

void w3_pipeline() {
  constexpr std::uint64_t kItems = 5'000'000;
  constexpr std::size_t kCap = 1024;
  constexpr int kStages = 3;
  for (unsigned workers : {1u, 2u}) {
    weft::Runtime rt{weft::Config{.workers = workers}};
    const double rate = best_of(3, [&] {
      return rt.block_on([] {
        const auto t0 = Clock::now();
        auto [src_tx, rx] = weft::make_channel<std::uint64_t>(kCap);
        std::vector<weft::JoinHandle<void>> fibers;
        fibers.push_back(weft::spawn([tx = std::move(src_tx)] {
          for (std::uint64_t i = 0; i < kItems; ++i) tx.send(i).value();
        }));
        for (int s = 0; s < kStages; ++s) {
          auto [tx, next_rx] = weft::make_channel<std::uint64_t>(kCap);
          fibers.push_back(weft::spawn([in = std::move(rx), out = std::move(tx)] {
            for (std::uint64_t v : in) out.send(v + 1).value();
          }));
          rx = std::move(next_rx);
        }
        std::uint64_t sum = 0;
        for (std::uint64_t v : rx) sum += v;
        for (auto& f : fibers) f.join();
        const double s = seconds_since(t0);
        check_sum("w3_pipeline", sum, kItems * (kItems - 1) / 2 + kStages * kItems);
        return kItems / s;
      });
    }, true);
    line("w3_pipeline", weft_w(workers), "items_per_s", rate, "items/s");
  }
}

void w4_fanin() {
  constexpr std::uint64_t kPerProducer = 1'000'000;
  constexpr int kProducers = 8;
  constexpr std::uint64_t kItems = kPerProducer * kProducers;
  for (unsigned workers : {1u, 2u}) {
    weft::Runtime rt{weft::Config{.workers = workers}};
    const double rate = best_of(3, [&] {
      return rt.block_on([] {
        const auto t0 = Clock::now();
        auto [tx, rx] = weft::make_channel<std::uint64_t>(1024);
        std::vector<weft::JoinHandle<void>> producers;
        for (int p = 0; p < kProducers; ++p) {
          producers.push_back(weft::spawn([tx, p] {
            for (std::uint64_t i = 0; i < kPerProducer; ++i) tx.send(p * kPerProducer + i).value();
          }));
        }
        { auto drop = std::move(tx); }
        std::uint64_t sum = 0;
        for (std::uint64_t v : rx) sum += v;
        for (auto& f : producers) f.join();
        const double s = seconds_since(t0);
        check_sum("w4_fanin", sum, kItems * (kItems - 1) / 2);
        return kItems / s;
      });
    }, true);
    line("w4_fanin", weft_w(workers), "items_per_s", rate, "items/s");
  }
}

void mutex_contended() {
  constexpr int kTasks = 8;
  constexpr long kPerTask = 200'000;
  weft::Runtime rt{weft::Config{.workers = 2}};
  const double rate = best_of(3, [&] {
    weft::Mutex m;
    long counter = 0;
    const auto t0 = Clock::now();
    weft::bench::increment_under_lock(rt, m, counter, kTasks, kPerTask);
    const double s = seconds_since(t0);
    check_sum("mutex_contended", static_cast<std::uint64_t>(counter), kTasks * kPerTask);
    return kTasks * kPerTask / s;
  }, true);
  line("mutex_contended", weft_w(2), "ops_per_s", rate, "ops/s");
}

struct Workload {
  const char* name;
  void (*run)();
};
// w7_flags: which IORING_SETUP_* set gives fewer syscalls per op and lower latency (the default
// is the first that the kernel accepts of the same list, see io/src/uring_backend.cpp).
void w7_flags() {
  constexpr std::uint64_t kNops = 2'000'000;
  constexpr int kRounds = 100'000;
  struct Set {
    const char* name;
    unsigned flags;
  };
  constexpr Set kSets[] = {
      {"single_issuer+defer_taskrun", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN},
      {"single_issuer+coop_taskrun", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN},
      {"coop_taskrun", IORING_SETUP_COOP_TASKRUN},
      {"none", 0},
  };
  for (const Set& set : kSets) {
    weft::sched::Scheduler::Options o;
    o.workers = 1;
    o.driver_factory = [f = set.flags](unsigned) { return weft::io::make_uring_driver({.flags = f}); };
    std::optional<weft::sched::Scheduler> sched;
    try {
      sched.emplace(o);
    } catch (const std::system_error& e) {
      std::printf("# w7_flags %s: not available here (%s)\n", set.name, e.what());
      continue;
    }
    auto run = [&](auto f) { return weft::detail::spawn_on(*sched, {}, std::move(f)).join(); };
    double enters_per_op = 0;
    const double ops = best_of(3, [&] {
      return run([&] {
        const auto before = weft::io::current_uring_stats();
        const auto t0 = Clock::now();
        std::vector<weft::JoinHandle<void>> fibers;
        for (int f = 0; f < 32; ++f) {
          fibers.push_back(weft::spawn([] {
            for (std::uint64_t i = 0; i < kNops / 32; ++i) weft::io::nop().value();
          }));
        }
        for (auto& h : fibers) h.join();
        const double secs = seconds_since(t0);
        enters_per_op = static_cast<double>(weft::io::current_uring_stats().enters - before.enters) / kNops;
        return kNops / secs;
      });
    }, true);
    const double rt_ns = best_of(3, [&] {
      return run([&] {
        int ab[2], ba[2];
        if (::pipe2(ab, O_CLOEXEC) != 0 || ::pipe2(ba, O_CLOEXEC) != 0) return 0.0;
        const auto t0 = Clock::now();
        auto echo = weft::spawn([&] {
          std::byte b[1];
          for (int i = 0; i < kRounds; ++i) {
            weft::io::read(ab[0], b).value();
            weft::io::write(ba[1], b).value();
          }
        });
        std::byte b[1] = {std::byte{1}};
        for (int i = 0; i < kRounds; ++i) {
          weft::io::write(ab[1], b).value();
          weft::io::read(ba[0], b).value();
        }
        echo.join();
        const double ns = seconds_since(t0) * 1e9 / kRounds;
        for (int fd : {ab[0], ab[1], ba[0], ba[1]}) ::close(fd);
        return ns;
      });
    }, false);
    line("w7_flags", set.name, "nop_ops_per_s", ops, "ops/s");
    line("w7_flags", set.name, "enters_per_op", enters_per_op, "calls");
    line("w7_flags", set.name, "pipe_pingpong", rt_ns, "ns/rt");
  }
}

// w8_wake: what a wake-up between two ring-owning threads costs with each mechanism. Two threads
// take turns: bump `turn`, unpark the other, park until the turn comes back (park() may return
// early; the loop re-checks). Syscalls per wake: every io_uring_enter of both rings, plus one
// eventfd write per wake-up sent that way (UringBackend::unpark writes once per call).
void w8_wake() {
  constexpr int kRounds = 200'000;
  struct Result {
    double ns_per_wake = 0, syscalls_per_wake = 0;
  };
  auto ring_pair = [](bool msg_ring) {
    const weft::io::UringOptions o{.msg_ring_wakeups = msg_ring};
    auto a = weft::io::make_uring_driver(o);
    std::unique_ptr<weft::sched::Driver> b;
    std::latch b_ready(1);
    std::atomic<int> turn{0};
    const auto forever = Clock::time_point::max();
    std::thread tb([&] {
      b = weft::io::make_uring_driver(o);
      b_ready.count_down();
      for (int i = 0; i < kRounds; ++i) {
        while (turn.load(std::memory_order_acquire) != 2 * i + 1) b->park(forever);
        turn.store(2 * i + 2, std::memory_order_release);
        a->unpark();
      }
    });
    b_ready.wait();
    const auto sa = weft::io::uring_stats(*a), sb = weft::io::uring_stats(*b);
    const auto t0 = Clock::now();
    for (int i = 0; i < kRounds; ++i) {
      turn.store(2 * i + 1, std::memory_order_release);
      b->unpark();
      while (turn.load(std::memory_order_acquire) != 2 * i + 2) a->park(forever);
    }
    const double s = seconds_since(t0);
    tb.join();
    const auto ea = weft::io::uring_stats(*a), eb = weft::io::uring_stats(*b);
    const double wakes = 2.0 * kRounds;
    const double msg = static_cast<double>(ea.msg_ring_wakes - sa.msg_ring_wakes + eb.msg_ring_wakes - sb.msg_ring_wakes);
    const double enters = static_cast<double>(ea.enters - sa.enters + eb.enters - sb.enters);
    return Result{s * 1e9 / wakes, (enters + (wakes - msg)) / wakes};
  };
  Result r[2];
  for (int rep = 0; rep < 3; ++rep) {  // alternating, best of 3 each: the machine is shared
    for (bool msg_ring : {false, true}) {
      const Result x = ring_pair(msg_ring);
      Result& best = r[msg_ring];
      if (rep == 0 || x.ns_per_wake < best.ns_per_wake) best = x;
    }
  }
  if (!weft::io::uring_stats(*weft::io::make_uring_driver({})).msg_ring_wakeups) {
    std::printf("# w8_wake: IORING_OP_MSG_RING unavailable here: both rows are the eventfd\n");
  }
  for (bool msg_ring : {false, true}) {
    const char* who = msg_ring ? "rings-msg_ring" : "rings-eventfd";
    line("w8_wake", who, "ns_per_wake", r[msg_ring].ns_per_wake, "ns");
    line("w8_wake", who, "syscalls_per_wake", r[msg_ring].syscalls_per_wake, "calls");
  }
  line("w8_wake", "rings-msg_ring", "ratio_to_eventfd", r[1].ns_per_wake / r[0].ns_per_wake, "x");

  // The same wake-ups inside the runtime: w2_pingpong on two workers (the fibers meet on one
  // worker or two; the idle worker is woken whenever work queues up behind the running one).
  constexpr int kRoundTrips = 200'000;
  double ns[2] = {0, 0};
  for (int rep = 0; rep < 3; ++rep) {
    for (bool msg_ring : {false, true}) {
      weft::sched::Scheduler::Options o;
      o.workers = 2;
      o.driver_factory = [msg_ring](unsigned) {
        return weft::io::make_uring_driver({.msg_ring_wakeups = msg_ring});
      };
      weft::sched::Scheduler sched(o);
      const double v =
          weft::detail::spawn_on(sched, {}, [] { return pingpong_ns_per_rt("w8_wake", kRoundTrips); }).join();
      ns[msg_ring] = rep == 0 ? v : std::min(ns[msg_ring], v);
    }
  }
  line("w8_wake", "w2_pingpong-eventfd", "ns_per_rt", ns[0], "ns");
  line("w8_wake", "w2_pingpong-msg_ring", "ns_per_rt", ns[1], "ns");
  line("w8_wake", "w2_pingpong-msg_ring", "ratio_to_eventfd", ns[1] / ns[0], "x");
}

constexpr Workload kWorkloads[] = {
    {"w1_spawn", w1_spawn},
    {"yield_ping", yield_ping},
    {"w2_pingpong", w2_pingpong},
    {"w3_pipeline", w3_pipeline},
    {"w4_fanin", w4_fanin},
    {"mutex_contended", mutex_contended},
    {"w7_nop", w7_nop},
    {"w7_flags", w7_flags},
    {"w8_wake", w8_wake},
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<const Workload*> chosen;
  for (int i = 1; i < argc; ++i) {
    const auto* w = std::find_if(std::begin(kWorkloads), std::end(kWorkloads),
                                 [&](const Workload& x) { return std::strcmp(x.name, argv[i]) == 0; });
    if (w == std::end(kWorkloads)) {
      std::fprintf(stderr, "workloads: unknown workload '%s'; known:", argv[i]);
      for (const auto& x : kWorkloads) std::fprintf(stderr, " %s", x.name);
      std::fprintf(stderr, "\n");
      return 2;
    }
    chosen.push_back(w);
  }
  if (chosen.empty()) {
    for (const auto& w : kWorkloads) chosen.push_back(&w);
  }
  for (const auto* w : chosen) w->run();
  return 0;
}
