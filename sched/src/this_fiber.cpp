#include <weft/sched/this_fiber.hpp>

#include "worker.hpp"

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

bool cancellation_requested() noexcept {
  sched::Task* t = current_task();
  return t && t->cancel_requested();
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
