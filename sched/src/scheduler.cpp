#include "scheduler_impl.hpp"
#include "task_token.hpp"
#include "worker.hpp"

#include <weft/sched/waker.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <stdexcept>
#include <thread>
#include <utility>

#include <sched.h>

namespace weft::sched {
namespace {

alignas(64) std::atomic<FiberId> g_next_id{1};

// next_fiber_id: process-unique ids, handed to each thread in blocks so that spawning from many
// threads does not contend on one counter.
FiberId next_fiber_id() noexcept {
  constexpr FiberId kBlock = 1024;
  thread_local FiberId next = 0, limit = 0;
  if (next == limit) {
    next = g_next_id.fetch_add(kBlock, std::memory_order_relaxed);
    limit = next + kBlock;
  }
  return next++;
}

// next_spawn_order: FiberCore::spawn_order for a task spawned by `spawner` (nullptr from a plain
// thread) on this thread. No shared counter: causality (parent before child, and program order on
// one thread) is all the shutdown order needs.
std::uint64_t next_spawn_order(Task* spawner) noexcept {
  thread_local std::uint64_t next = 1;
  if (spawner) next = std::max(next, spawner->core().spawn_order + 1);
  return next++;
}

unsigned available_cores() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc ? hc : 1;
}

}  // namespace

// ---- TaskRegistry ----------------------------------------------------------------------------

void TaskRegistry::add(Task* t) {
  Shard& s = shard_of(t);
  std::lock_guard lock(s.mu);
  FiberCore& c = t->core();
  c.registry_prev = nullptr;
  c.registry_next = s.head;
  if (s.head) s.head->core().registry_prev = t;
  s.head = t;
}

void TaskRegistry::remove(Task* t) {
  Shard& s = shard_of(t);
  std::lock_guard lock(s.mu);
  FiberCore& c = t->core();
  if (c.registry_prev) {
    c.registry_prev->core().registry_next = c.registry_next;
  } else {
    s.head = c.registry_next;
  }
  if (c.registry_next) c.registry_next->core().registry_prev = c.registry_prev;
  c.registry_prev = c.registry_next = nullptr;
}

std::string TaskRegistry::name_of(FiberId id) {
  Shard& s = shards_[id % kShards];
  std::lock_guard lock(s.mu);
  for (Task* t = s.head; t; t = t->core().registry_next) {
    if (t->id() == id) return t->name();
  }
  return {};
}

// ---- Scheduler::Impl ------------------------------------------------------------------------

Scheduler::Impl::Impl(Options opts)
    : options(std::move(opts)),
      nworkers(options.workers ? options.workers : available_cores()),
      stacks(options.stack_size),
      idle(nworkers),
      blocking_pool(options.blocking_threads ? options.blocking_threads : 4 * nworkers) {}

void Scheduler::Impl::schedule_remote(Task* t) {
  workers[t->core().home_worker % nworkers]->post_inbox(t);
  notify_work();
}

void Scheduler::Impl::notify_work() {
  const int index = idle.worker_to_notify();
  if (index < 0) return;
  workers[index]->count_wakeup();
  workers[index]->unpark();
}

bool Scheduler::Impl::has_work_anywhere() const {
  if (inject.size_approx() > 0) return true;
  for (const auto& w : workers) {
    if (w->has_stealable_work()) return true;
  }
  return false;
}

void Scheduler::Impl::complete(Task* t) {
  FiberCore& c = t->core();
  // Before the scheduler's reference goes: the link's callback may be running right now
  // (task_token.hpp), and ~stop_callback waits for it.
  if (c.token_link) delete std::exchange(c.token_link, nullptr);
  c.state.store(FiberCore::kFinished, std::memory_order_release);
  // acq_rel: releases the result to the joiner (pairs with the acquire in Task::is_finished) and
  // acquires the joiner's registration.
  const std::uintptr_t joiner = c.joiner.exchange(Task::kJoinDone, std::memory_order_acq_rel);
  if (joiner != 0) Waker::from_bits(joiner).wake();
  count_finish(own_worker(current_worker()));
  t->unref();
}

Worker* Scheduler::Impl::own_worker(Worker* w) const noexcept {
  return w && &w->scheduler() == this ? w : nullptr;
}

void Scheduler::Impl::count_spawn(Worker* w) noexcept {
  if (w) {
    w->count_spawn();
  } else {
    spawned_external.fetch_add(1, std::memory_order_seq_cst);
  }
}

void Scheduler::Impl::count_finish(Worker* w) noexcept {
  if (w) {
    w->count_finish();
  } else {
    finished_external.fetch_add(1, std::memory_order_seq_cst);
  }
  // seq_cst: pairs with shutdown()'s flag store and re-sum (scheduler_impl.hpp, point 4).
  if (shutting_down.load(std::memory_order_seq_cst)) {
    finish_generation.fetch_add(1, std::memory_order_seq_cst);
    { std::lock_guard lock(finish_mu); }  // the waiter holds it from reading the generation to waiting
    finish_cv.notify_all();
  }
}

std::uint64_t Scheduler::Impl::live() const noexcept {
  std::uint64_t finished = finished_external.load(std::memory_order_seq_cst);
  for (const auto& w : workers) finished += w->finished();
  std::uint64_t spawned = spawned_external.load(std::memory_order_seq_cst);
  for (const auto& w : workers) spawned += w->spawned();
  return spawned > finished ? spawned - finished : 0;
}

void Scheduler::Impl::abandon(Task* t, std::exception_ptr why) {
  t->abandon(std::move(why));
  complete(t);
}

// ---- Scheduler -----------------------------------------------------------------------------

Scheduler::Scheduler(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl& s = *impl_;
  s.owner = this;
  s.workers.reserve(s.nworkers);
  for (unsigned i = 0; i < s.nworkers; ++i) s.workers.push_back(std::make_unique<Worker>(s, i));
  std::latch ready(s.nworkers);
  std::mutex error_mu;
  std::exception_ptr first_error;
  for (auto& w : s.workers) {
    w->start([&](std::exception_ptr e) {
      if (e) {
        std::lock_guard lock(error_mu);
        if (!first_error) first_error = e;
      }
      ready.count_down();
    });
  }
  ready.wait();
  if (first_error) {
    s.stop.store(true, std::memory_order_release);
    for (auto& w : s.workers) w->unpark();
    for (auto& w : s.workers) w->join();
    s.shut_down_done.store(true);
    std::rethrow_exception(first_error);
  }
  try {
    s.start_monitor();
  } catch (...) {
    shutdown();
    throw;
  }
}

Scheduler::~Scheduler() {
  if (current() == this) {
    std::fputs("weft: a Runtime/Scheduler was destroyed from one of its own fibers\n", stderr);
    std::abort();
  }
  shutdown();
}

void Scheduler::spawn(Task* task, SpawnOptions options) {
  Impl& s = *impl_;
  FiberCore& c = task->core();
  if (options.stack_size != 0 &&
      (options.stack_size < StackClasses::kMinStackSize || options.stack_size > StackClasses::kMaxStackSize)) {
    task->unref();  // the scheduler's reference; the JoinHandle drops the other
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::SpawnOptions::stack_size must be 0 or between 16 KiB and 1 GiB");
  }
  c.stack_class = s.stacks.class_of(options.stack_size);
  Worker* w = s.own_worker(current_worker());
  c.id = next_fiber_id();
  c.spawn_order = next_spawn_order(w ? w->current() : nullptr);
  c.scheduler = this;
  c.scheduler_shutting_down = &s.shutting_down;
  if (!options.name.empty()) c.name = std::make_unique<std::string>(std::move(options.name));
  if (options.token.can_be_cancelled()) {
    // Registered before the task can run or complete; runs request_cancel() at once if the token is
    // already cancelled, and then prepare() abandons the task instead of starting it.
    try {
      c.token_link = new TokenLink(options.token.stop_token(), task);
    } catch (...) {
      task->unref();  // the scheduler's reference; the JoinHandle drops the other
      throw;
    }
  }
  // Count before reading shutting_down: see the shutdown protocol (scheduler_impl.hpp, 3).
  s.count_spawn(w);
  if (s.shutting_down.load(std::memory_order_seq_cst)) {
    s.abandon(task, nullptr);
    return;
  }
  if (w) {
    c.home_worker = w->index();
    w->schedule_back(task);
  } else {
    s.inject.enqueue(task);
    s.notify_work();
  }
}

void Scheduler::shutdown() { (void)shutdown_until(std::chrono::steady_clock::time_point::max()); }

ShutdownReport Scheduler::shutdown_until(std::chrono::steady_clock::time_point deadline) {
  Impl& s = *impl_;
  if (current() == this) throw std::logic_error("weft: Scheduler::shutdown called from one of its own fibers");
  std::lock_guard lock(s.shutdown_mu);
  if (s.shut_down_done.load()) return {};
  s.shutting_down.store(true, std::memory_order_seq_cst);
  // Again on a later call: harmless (request_cancel is idempotent), and it wakes whatever parked
  // since, e.g. in a wait that ignored the first cancellation.
  s.registry.for_each_newest_first([](Task* t) { t->request_cancel(); });
  {
    std::unique_lock wait_lock(s.finish_mu);
    for (;;) {
      const std::uint32_t generation = s.finish_generation.load(std::memory_order_seq_cst);
      if (s.live() == 0) break;
      const bool changed = s.finish_cv.wait_until(wait_lock, deadline, [&] {
        return s.finish_generation.load(std::memory_order_seq_cst) != generation;
      });
      if (!changed) break;  // the deadline passed
    }
  }
  if (const std::uint64_t left = s.live(); left != 0) return s.report_unfinished(left);
  s.stop_monitor();
  s.stop.store(true, std::memory_order_release);
  for (auto& w : s.workers) w->unpark();
  for (auto& w : s.workers) w->join();
  s.shut_down_done.store(true);
  return {};
}

ShutdownReport Scheduler::Impl::report_unfinished(std::uint64_t left) {
  ShutdownReport report;
  report.unfinished = left;
  registry.for_each_newest_first([&](Task* t) {
    if (!t->is_finished()) report.tasks.push_back({t->id(), t->name()});
  });
  // Plus what runs right now and was never registered (an unnamed fiber that never parked): its
  // id is a copy published by its worker, safe to read whatever the task does meanwhile.
  for (const auto& w : workers) {
    const FiberId id = w->running();
    if (id == 0) continue;
    const bool listed = std::any_of(report.tasks.begin(), report.tasks.end(), [&](const auto& t) { return t.id == id; });
    if (!listed) report.tasks.push_back({id, {}});
  }
  return report;
}

unsigned Scheduler::workers() const noexcept { return impl_->nworkers; }
std::size_t Scheduler::stack_size() const noexcept { return impl_->stacks.default_slabs().stack_size(); }
std::uint64_t Scheduler::live_tasks() const noexcept { return impl_->live(); }
BlockingPool& Scheduler::blocking_pool() noexcept { return impl_->blocking_pool; }

std::vector<WorkerStats> Scheduler::stats() const {
  std::vector<WorkerStats> out;
  out.reserve(impl_->workers.size());
  for (const auto& w : impl_->workers) out.push_back(w->stats());
  return out;
}

Scheduler* Scheduler::current() noexcept {
  Worker* w = current_worker();
  return w ? w->scheduler().owner : nullptr;
}

}  // namespace weft::sched
