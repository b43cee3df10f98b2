#include <weft/sched/this_fiber.hpp>

#include "worker.hpp"

#include <memory>
#include <stop_token>
#include <thread>

namespace weft::this_fiber {
using sched::current_task;

bool in_fiber() noexcept { return current_task() != nullptr; }

FiberId id() noexcept {
  sched::Task* t = current_task();
  return t ? t->id() : 0;
}

std::string_view name() noexcept {
  sched::Task* t = current_task();
  return t ? std::string_view(t->name()) : std::string_view();
}

std::optional<unsigned> worker_index() noexcept {
  sched::Worker* w = sched::current_worker();
  if (!w || !w->current()) return std::nullopt;
  return w->index();
}

void yield() {
  sched::Worker* w = sched::current_worker();
  if (!w || !w->current()) {
    std::this_thread::yield();
    return;
  }
  w->switch_out(w->current(), sched::Worker::Intent::yield);
}

bool peers_ready() noexcept {
  sched::Worker* w = sched::current_worker();
  return w && w->current() && w->has_ready_tasks();
}

bool yield_to_peers() {
  if (!peers_ready()) return false;
  sched::Worker* w = sched::current_worker();
  w->switch_out(w->current(), sched::Worker::Intent::yield_waiting);
  return true;
}

bool cancellation_requested() noexcept {
  sched::Task* t = current_task();
  return t && t->cancel_requested();
}

CancellationToken cancellation_token() {
  sched::Worker* w = sched::current_worker();
  if (!w || !w->current()) return {};
  sched::Task* self = w->current();
  sched::FiberCore& c = self->core();
  // Only the fiber itself stores own_token, so a relaxed load of its own store suffices here.
  std::stop_source* own = c.own_token.load(std::memory_order_relaxed);
  if (!own) {
    auto made = std::make_unique<std::stop_source>();
    own = made.get();
    // seq_cst: a Dekker pair with Task::request_cancel (stores the flag, then loads own_token):
    // either it sees the token and cancels it, or the load of the flag below sees the flag.
    c.own_token.store(made.release(), std::memory_order_seq_cst);
    sched::Scheduler::Impl& impl = w->scheduler();
    if (!c.registered) {
      // Shutdown cancels the registered tasks (scheduler_impl.hpp, point 2): a task that was never
      // parked must be reachable too now that work downstream listens to its token. Reading
      // shutting_down after registering, in the shard mutex's order, means either shutdown's pass
      // cancels it or the check below sees the flag.
      impl.registry.add(self);
      c.registered = true;
    }
    if (c.cancel_requested.load(std::memory_order_seq_cst) || impl.shutting_down.load(std::memory_order_seq_cst)) {
      own->request_stop();
    }
  }
  return CancellationToken::from_stop_token(own->get_token());
}

Result<void> sleep_until(std::chrono::steady_clock::time_point deadline) {
  if (!in_fiber()) {
    if (deadline == std::chrono::steady_clock::time_point::max()) {
      for (;;) sched::park();  // a plain thread asked to sleep forever
    }
    std::this_thread::sleep_until(deadline);
    return {};
  }
  while (std::chrono::steady_clock::now() < deadline) {
    if (cancellation_requested()) return fail(errc::cancelled);
    sched::park_until(deadline);
  }
  if (cancellation_requested()) return fail(errc::cancelled);
  return {};
}

}  // namespace weft::this_fiber
