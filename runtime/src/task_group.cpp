// task_group.cpp: the non-template half of TaskGroup (weft/runtime/task_group.hpp).
//
// Why join() cannot miss the last child: the live count, the joiner's Waker and the first error
// change only under GroupState::mu. The joiner publishes its Waker under the lock after seeing
// live > 0; the child that brings live to 0 takes that Waker under the same lock and wakes it after
// unlocking. So either the joiner sees 0, or its Waker is taken and woken (a permit: a wake before
// the park is not lost). Spurious wake-ups just loop.
#include <weft/runtime/task_group.hpp>

#include <weft/sched/this_fiber.hpp>

#include <cstdio>
#include <system_error>

namespace weft {

namespace detail {

namespace {
bool is_cancellation(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& se) {
    return se.code() == errc::cancelled;
  } catch (...) {
    return false;
  }
}
}  // namespace

void GroupState::child_added() noexcept {
  std::lock_guard lock(mu);
  ++live;
}

void GroupState::child_done() noexcept {
  sched::Waker wake;
  {
    std::lock_guard lock(mu);
    if (--live == 0) wake = std::move(joiner);
  }
  wake.wake();
}

void GroupState::child_failed(std::exception_ptr e) noexcept {
  // Read before taking the lock: is_cancellation rethrows, and whether the group was already
  // cancelled is decided by what this child could have seen.
  const bool expected_cancellation = source.cancelled() && is_cancellation(e);
  {
    std::lock_guard lock(mu);
    if (!first_error && !expected_cancellation) first_error = std::move(e);
  }
  source.cancel();
}

bool GroupState::wait_children() noexcept {
  bool caller_cancelled = false;
  for (;;) {
    bool can_park = true;
    {
      std::lock_guard lock(mu);
      if (live == 0) break;
      if (!joiner) {
        try {
          joiner = sched::Waker::current();
        } catch (...) {
          can_park = false;  // no parker for this thread (out of memory): poll instead of parking
        }
      }
    }
    if (!caller_cancelled && this_fiber::cancellation_requested()) {
      caller_cancelled = true;
      source.cancel();  // usually already done through the owner's token; shutdown comes this way
    }
    if (can_park) {
      sched::park();
    } else {
      this_fiber::yield();
    }
  }
  // The children may all have ended (cancelled through the owner's token) before this fiber looked.
  return caller_cancelled || this_fiber::cancellation_requested();
}

}  // namespace detail

TaskGroup::TaskGroup() : TaskGroup(detail::current_scheduler("weft::TaskGroup()"), this_fiber::cancellation_token()) {}

TaskGroup::TaskGroup(Runtime& rt) : TaskGroup(rt.scheduler(), this_fiber::cancellation_token()) {}

TaskGroup::TaskGroup(Runtime& rt, const CancellationToken& parent) : TaskGroup(rt.scheduler(), parent) {}

TaskGroup::TaskGroup(sched::Scheduler& s, const CancellationToken& parent)
    : sched_(&s), state_(std::make_shared<detail::GroupState>(parent)), uncaught_at_start_(std::uncaught_exceptions()) {}

TaskGroup::~TaskGroup() {
  // Leaving the scope by an exception: the children's work is moot, stop it before waiting.
  if (std::uncaught_exceptions() > uncaught_at_start_) state_->source.cancel();
  state_->wait_children();
  std::exception_ptr e;
  {
    std::lock_guard lock(state_->mu);
    e = std::exchange(state_->first_error, nullptr);
  }
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "weft: TaskGroup destroyed without join() after a child failed: %s (dropped)\n", ex.what());
  } catch (...) {
    std::fputs("weft: TaskGroup destroyed without join() after a child failed (non-std exception, dropped)\n", stderr);
  }
}

void TaskGroup::spawn_task(sched::Task* task, SpawnOptions options) {
  state_->child_added();
  try {
    sched_->spawn(task, std::move(options));  // on failure it has dropped the scheduler's reference
  } catch (...) {
    task->unref();
    state_->child_done();
    throw;
  }
  task->unref();  // the reference a JoinHandle would hold: nobody joins a child individually
}

void TaskGroup::join() {
  const bool caller_cancelled = state_->wait_children();
  std::exception_ptr e;
  {
    std::lock_guard lock(state_->mu);
    e = std::exchange(state_->first_error, nullptr);
  }
  if (e) std::rethrow_exception(e);
  if (caller_cancelled) throw std::system_error(make_error_code(errc::cancelled));
}

std::size_t TaskGroup::live() const {
  std::lock_guard lock(state_->mu);
  return state_->live;
}

}  // namespace weft
