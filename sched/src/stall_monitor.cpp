// stall_monitor.cpp: the thread that reports a fiber running too long without suspending.
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
  if (threshold <= threshold.zero()) return;
  const auto period = std::max<std::chrono::steady_clock::duration>(threshold / 2, std::chrono::milliseconds(1));
  monitor = std::thread([this, threshold, period] {
    std::vector<Sample> samples(nworkers);
    std::unique_lock lock(monitor_mu);
    while (!monitor_cv.wait_for(lock, period, [&] { return monitor_stop; })) {
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
        if (running == 0 || s.reported || now - s.since < threshold) continue;
        s.reported = true;
        w.count_stall();
        log_stall(i, running, registry.name_of(running), now - s.since);
      }
    }
  });
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
