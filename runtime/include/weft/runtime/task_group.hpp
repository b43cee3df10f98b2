// weft/runtime/task_group.hpp: TaskGroup, a nursery: children that cannot outlive their scope.
//
// g.spawn(f) starts f as a child fiber; g.join() waits until every child has finished and rethrows
// the first child failure. The first child that throws cancels its siblings (through the group's
// CancellationSource, whose token every child is spawned with), so a failure stops the whole group
// quickly. The group's source is a child of its owner's token (this_fiber::cancellation_token() when
// made in a fiber, or the token given), so cancelling the owner cancels the children.
//
// Invariants: no child outlives the TaskGroup object: the destructor waits for every child. A
// destructor must not throw, so when join() was not called and a child failed, the destructor prints
// the error to stderr and drops it (use join() to observe errors). While the scope is being left by
// an exception, the destructor cancels the children before waiting for them (their work is moot).
// Once cancelled (by g.cancel(), a failure or the owner) a group stays cancelled: later spawns never
// run. A child that ends with errc::cancelled after the group was cancelled is not a failure (that
// is how it was asked to end); one cancelled by something else (the runtime's shutdown) is.
//
// join() is a cancellation point that still waits: when its caller is (or gets) cancelled it
// cancels the children and keeps waiting for them, then rethrows the first failure or, if there was
// none, throws std::system_error(errc::cancelled).
//
// Thread-safety: spawn() from any thread or fiber, also from the group's own children; join() and
// the destructor from one thread or fiber at a time, never from one of the group's own children
// (it would wait for itself). Children return void (give results back through captures).
//
//   weft::TaskGroup g;                                  // inside a fiber (or TaskGroup g(rt) outside)
//   for (auto& url : urls) g.spawn([&url] { fetch(url); });
//   g.join();                                           // all done, or the first error rethrown
#pragma once

#include <weft/runtime/runtime.hpp>
#include <weft/sched/cancellation.hpp>
#include <weft/sched/scheduler.hpp>
#include <weft/sched/spawn_options.hpp>
#include <weft/sched/task.hpp>
#include <weft/sched/waker.hpp>

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace weft {

namespace detail {

// GroupState: what a TaskGroup shares with its children (each child holds a reference, so a child
// finishing never touches a freed group).
struct GroupState {
  explicit GroupState(const CancellationToken& parent) : source(parent) {}

  // child_added / child_done: the live count; the child that brings it to zero wakes the joiner.
  void child_added() noexcept;
  void child_done() noexcept;
  // child_failed: records `e` unless an earlier failure was recorded or it is the errc::cancelled of
  // a child of a cancelled group; cancels the group either way.
  void child_failed(std::exception_ptr e) noexcept;
  // wait_children: parks until no child is live. When the caller is cancelled meanwhile it cancels
  // the group and keeps waiting; returns whether the caller is cancelled.
  bool wait_children() noexcept;

  std::mutex mu;                   // held for a few instructions, never across a park
  std::size_t live = 0;            // under mu
  std::exception_ptr first_error;  // under mu
  sched::Waker joiner;             // under mu
  CancellationSource source;
};

// GroupChild: a child task. It signals the group only after its callable is destroyed, so captures
// referring to the owner's frame are gone when join() returns; and also when it never runs
// (abandoned), so join() never waits for a child that will not come.
template <class F>
class GroupChild final : public sched::Task {
 public:
  GroupChild(std::shared_ptr<GroupState> group, F&& f) : group_(std::move(group)) {
    ::new (static_cast<void*>(&fn_)) F(std::move(f));
  }
  ~GroupChild() override { destroy_fn(); }

 protected:
  void run() noexcept override {
    try {
      std::invoke(fn_);
    } catch (...) {
      group_->child_failed(std::current_exception());
    }
    finish();
  }
  void abandon(std::exception_ptr why) noexcept override {
    // Not started: the group was cancelled (nothing to report), the runtime is shutting down (the
    // child's work did not happen: a failure), or no fiber could be made (`why`).
    if (why) {
      group_->child_failed(std::move(why));
    } else if (!group_->source.cancelled()) {
      group_->child_failed(std::make_exception_ptr(std::system_error(make_error_code(errc::cancelled))));
    }
    finish();
  }

 private:
  void destroy_fn() noexcept {
    if (alive_) {
      alive_ = false;
      fn_.~F();
    }
  }
  void finish() noexcept {
    destroy_fn();
    std::exchange(group_, nullptr)->child_done();
  }
  std::shared_ptr<GroupState> group_;
  union {
    F fn_;
  };
  bool alive_ = true;
};

}  // namespace detail

// TaskGroup: see the file comment. Neither copyable nor movable (children refer to its scope).
class TaskGroup {
 public:
  // TaskGroup: a group on the calling fiber's runtime, child of the calling task's token. Throws
  // std::logic_error outside a fiber (use TaskGroup(Runtime&) there).
  TaskGroup();
  // TaskGroup: a group on `rt`, child of the calling task's token when called from a fiber.
  explicit TaskGroup(Runtime& rt);
  // TaskGroup: a group on `rt`, child of `parent` (e.g. a token cancelled on SIGINT).
  TaskGroup(Runtime& rt, const CancellationToken& parent);
  // ~TaskGroup: waits for every child (see the file comment for errors not joined).
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // spawn: starts f(args...) as a child fiber; f must return void. Never blocks. In a cancelled
  // group the child never runs. SpawnOptions::name is used; a token in `options` is a
  // std::logic_error (children take the group's: make a CancellationSource from token() instead).
  // Throws std::bad_alloc.
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  void spawn(SpawnOptions options, F&& f, Args&&... args) {
    static_assert(std::is_void_v<detail::spawn_result_t<F, Args...>>,
                  "TaskGroup children return void: hand results back through captures");
    if (options.token.can_be_cancelled()) {
      throw std::logic_error("weft::TaskGroup::spawn: children take the group's token; SpawnOptions::token must be empty");
    }
    auto bound = [f = std::forward<F>(f), ... args = std::forward<Args>(args)]() mutable {
      std::invoke(std::move(f), std::move(args)...);
    };
    options.token = state_->source.token();
    spawn_task(new detail::GroupChild<decltype(bound)>(state_, std::move(bound)), std::move(options));
  }
  template <class F, class... Args>
    requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  void spawn(F&& f, Args&&... args) {
    spawn(SpawnOptions{}, std::forward<F>(f), std::forward<Args>(args)...);
  }

  // join: waits until every child has finished (suspends a fiber, blocks a thread). Rethrows the
  // first child failure (consumed: a second join() does not rethrow it). If the caller was
  // cancelled while waiting, the children were cancelled too and, without a failure to report,
  // throws std::system_error(errc::cancelled). The group stays usable afterwards.
  void join();

  // cancel: cancels every child (running ones at their next cancellation point; unstarted and
  // later ones never run). Never blocks.
  void cancel() noexcept { state_->source.cancel(); }
  // cancelled: whether the group was cancelled (by cancel(), a failure or its owner).
  bool cancelled() const noexcept { return state_->source.cancelled(); }
  // token: the group's token, for work that should stop with the group.
  CancellationToken token() const noexcept { return state_->source.token(); }
  // live: children not yet finished (a snapshot).
  std::size_t live() const;

 private:
  TaskGroup(sched::Scheduler& s, const CancellationToken& parent);
  void spawn_task(sched::Task* task, SpawnOptions options);

  sched::Scheduler* sched_;
  std::shared_ptr<detail::GroupState> state_;
  int uncaught_at_start_;
};

}  // namespace weft
