// stall_monitor.cpp: the thread that reports a fiber running too long without suspending, and
// hands on the fibers stranded behind it.
//
// A fiber that never suspends holds its worker: fibers queued on that worker wait until another
// worker steals them, and a one-worker runtime stops altogether. The monitor makes that visible.
//
// Why it costs the workers (almost) nothing: each worker already bumps its `resumes` counter on
// every switch-in, and publishes the running fiber's id next to it with one relaxed store (and a
// 0 when it goes back to its scheduler context). The monitor wakes every threshold/2, samples each
// worker's (resumes, running id) pair, and remembers when it first saw the current pair. A pair
// that stayed the same for the threshold, with a fiber running, means that fiber has not suspended
// since: it is reported once (the next switch makes a new pair). No fence, lock or RMW is added to
// the switch path, and the monitor never dereferences a task: the id is a copy, and the name comes
// from the registry under its shard lock (named tasks are registered from their start).
//
// Stranded fibers: a fiber woken by a fiber that then runs on without suspending (a CPU-heavy
// handler) sits in its waker's LIFO slot, which only its owner takes from between fibers; and a
// single fiber queued there wakes no idle worker (worker.cpp, schedule_back). So with more than one
// worker the monitor samples every kRescuePeriod, and a worker whose pair did not change between two
// samples with a fiber running gets rescue_stranded(): its LIFO slot's fiber moves to the inject
// queue (the slot is stealable: run_queue.hpp) and an idle worker is woken for whatever waits there.
// A stranded fiber therefore runs within about 2 x kRescuePeriod when another worker is idle,
// whatever its waker does, and the fibers that hand off in microseconds (ping-pong, short handlers)
// never meet the monitor. While every worker sleeps the monitor dozes (kDozePeriod, or the stall
// period), and the first worker to wake ends the doze. The seeded shuffle mode turns the rescue
// off (it depends on timing, which a seed cannot replay); stalls are still reported.
//
// Precision: a stall is reported between threshold and 1.5 x threshold after it began. A racy read
// of the two words can only make a pair look new, which delays a report by one sample. A worker
// thread that the OS deschedules for longer than the threshold while a fiber runs looks the same as
// a stuck fiber and is reported too (it is a stall from the other fibers' point of view).
#include "scheduler_impl.hpp"
#include "worker.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace weft::sched {

namespace {

constexpr auto kRescuePeriod = std::chrono::microseconds(500);
constexpr auto kDozePeriod = std::chrono::milliseconds(50);

struct Sample {
  std::uint64_t resumes = 0;
  FiberId running = 0;
  std::chrono::steady_clock::time_point since{};
  bool reported = false;
};

void log_stall(unsigned worker, FiberId id, const std::string& name, std::chrono::steady_clock::duration ran) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(ran).count();
  // One fprintf: a single write, so lines of several reports do not interleave.
  std::fprintf(stderr,
               "weft: fiber %llu%s%s%s has run for %lld ms on worker %u without suspending; fibers queued behind "
               "it wait (move blocking or CPU-heavy work to weft::spawn_blocking)\n",
               static_cast<unsigned long long>(id), name.empty() ? "" : " '", name.c_str(), name.empty() ? "" : "'",
               static_cast<long long>(ms), worker);
}

}  // namespace

void Scheduler::Impl::start_monitor() {
  const auto threshold = options.stall_threshold;
  const bool report = threshold > threshold.zero();
  // With one worker there is nobody to hand a fiber to. In the shuffle mode a rescue would make
  // wall-clock time decide where a fiber runs, which no seed can replay (worker.hpp).
  const bool rescue = nworkers > 1 && options.seed == 0;
  if (!report && !rescue) return;
  using Duration = std::chrono::steady_clock::duration;
  const Duration slow = report ? std::max<Duration>(threshold / 2, std::chrono::milliseconds(1)) : kDozePeriod;
  const Duration fast = rescue ? std::min<Duration>(kRescuePeriod, slow) : slow;
  monitor = std::thread([this, threshold, report, rescue, fast, slow] {
    std::vector<Sample> samples(nworkers);
    std::unique_lock lock(monitor_mu);
    for (;;) {
      // Doze while every worker sleeps: nothing runs, so nothing can be stranded. The first worker
      // to wake ends the doze (wake_monitor); the store-then-read here and the worker's
      // unpark-then-read of monitor_dozing (both seq_cst) make sure one of the two sees the other.
      bool dozing = false;
      if (rescue && idle.all_asleep()) {
        monitor_dozing.store(true, std::memory_order_seq_cst);
        dozing = idle.all_asleep();
        if (!dozing) monitor_dozing.store(false, std::memory_order_relaxed);
      }
      monitor_cv.wait_for(lock, dozing ? slow : fast, [&] {
        return monitor_stop || (dozing && !monitor_dozing.load(std::memory_order_relaxed));
      });
      if (monitor_stop) return;
      if (dozing) monitor_dozing.store(false, std::memory_order_relaxed);
      const auto now = std::chrono::steady_clock::now();
      for (unsigned i = 0; i < nworkers; ++i) {
        Worker& w = *workers[i];
        Sample& s = samples[i];
        const std::uint64_t resumes = w.resumes();
        const FiberId running = w.running();
        if (resumes != s.resumes || running != s.running) {
          s = Sample{resumes, running, now, false};
          continue;
        }
        if (running == 0) continue;
        // One fiber has run since the last sample at least: what it woke or queued here would wait
        // for it to suspend.
        if (rescue) w.rescue_stranded();
        if (!report || s.reported || now - s.since < threshold) continue;
        s.reported = true;
        w.count_stall();
        log_stall(i, running, registry.name_of(running), now - s.since);
      }
    }
  });
}

void Scheduler::Impl::wake_monitor() noexcept {
  if (!monitor_dozing.exchange(false, std::memory_order_seq_cst)) return;  // another worker did
  { std::lock_guard lock(monitor_mu); }  // the monitor is in its wait, or re-checks the flag first
  monitor_cv.notify_one();
}

void Scheduler::Impl::stop_monitor() noexcept {
  if (!monitor.joinable()) return;
  {
    std::lock_guard lock(monitor_mu);
    monitor_stop = true;
  }
  monitor_cv.notify_all();
  monitor.join();
}

}  // namespace weft::sched
