// task_token.hpp: how a task spawned with a CancellationToken is cancelled with it.
//
// spawn() registers a TokenLink (a std::stop_callback) on the token; when the token is cancelled
// the callback runs Task::request_cancel(), the very path JoinHandle::cancel() takes: the cancel
// flag is set and a parked task is woken, so every cancellation point (sleep, IO op, sync wait,
// join) observes a token cancellation with no code of its own.
//
// Lifetime: the link is deleted in Scheduler::Impl::complete(), before the scheduler drops its
// reference, so the task is alive whenever the callback runs; ~stop_callback waits for a callback
// running concurrently on another thread (request_cancel never blocks, so that wait is short).
// Tasks spawned without a cancellable token have no link: they pay one null check at completion.
#pragma once

#include <weft/sched/task.hpp>

#include <stop_token>

namespace weft::sched {

struct TokenLink {
  struct CancelTask {
    Task* task;
    void operator()() noexcept { task->request_cancel(); }
  };
  TokenLink(const std::stop_token& token, Task* task) : callback(token, CancelTask{task}) {}
  std::stop_callback<CancelTask> callback;
};

}  // namespace weft::sched
