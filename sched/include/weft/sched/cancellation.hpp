// weft/sched/cancellation.hpp: CancellationSource and CancellationToken, cancelling a tree of work.
//
// A CancellationSource is the switch, its CancellationTokens are the read side. A source made from
// a parent token is that parent's child: cancelling the parent cancels it (and so, transitively, a
// whole tree), cancelling the child leaves the parent alone. A task spawned with
// SpawnOptions{.token = t} is cancelled when t is: its cancel_requested() turns true and, if it is
// parked in any blocking call (sleep, IO op, sync wait, join, spawn_blocking's token), it is woken
// and that call returns errc::cancelled, exactly as after JoinHandle::cancel(). A task spawned with
// an already cancelled token never runs (its join() throws errc::cancelled).
//
// Every task also has a token of its own, this_fiber::cancellation_token(), cancelled when the task
// is (by its JoinHandle, its spawn token, or the runtime's shutdown): the parent to give to work the
// task starts (TaskGroup and spawn_blocking do). It is made on first use, so a task that never asks
// pays nothing.
//
// Invariants: cancellation is one-way and idempotent. When the cancel() call that cancelled a
// source returns, every token of it and of its live children reads cancelled() and every task
// spawned with one of them has been asked to cancel (a concurrent second cancel() returns at once). A source's tokens stay valid after the source is gone (they read what they read
// last; nothing can cancel them any more). Built on std::stop_source: stop_token() gives the
// std::stop_token for std::stop_callback or std::jthread (callbacks run on the cancelling thread,
// inside cancel(), and must not block).
//
// Thread-safety: every member of both types may be called from any thread or fiber, concurrently;
// cancel() never blocks on a fiber (it may wait for a callback running on another thread to return).
//
//   weft::CancellationSource stop;
//   rt.spawn(weft::SpawnOptions{.token = stop.token()}, [] { weft::sleep_for(1h); }).detach();
//   stop.cancel();  // the sleep returns errc::cancelled
#pragma once

#include <memory>
#include <stop_token>

namespace weft {

// CancellationToken: the read side; default-constructed, it is never cancelled.
class CancellationToken {
 public:
  CancellationToken() noexcept = default;
  // from_stop_token: wraps a std::stop_token (e.g. a std::jthread's).
  static CancellationToken from_stop_token(std::stop_token t) noexcept { return CancellationToken(std::move(t)); }

  // cancelled: true once its source (or an ancestor of it) was cancelled. Acquire: what the
  // canceller wrote before cancel() is visible afterwards.
  bool cancelled() const noexcept { return token_.stop_requested(); }
  // can_be_cancelled: false for a default token, or when no source can cancel it any more.
  bool can_be_cancelled() const noexcept { return token_.stop_possible(); }
  // stop_token: the std::stop_token underneath, for std::stop_callback.
  const std::stop_token& stop_token() const noexcept { return token_; }

 private:
  friend class CancellationSource;
  explicit CancellationToken(std::stop_token t) noexcept : token_(std::move(t)) {}
  std::stop_token token_;
};

// CancellationSource: the write side; move-only. See the file comment.
class CancellationSource {
 public:
  // CancellationSource: a root source. Throws std::bad_alloc.
  CancellationSource();
  // CancellationSource: a child of `parent`, cancelled when parent is (at once if it already is).
  // A parent that can never be cancelled makes a root. Throws std::bad_alloc.
  explicit CancellationSource(const CancellationToken& parent);
  // ~CancellationSource: unlinks it from its parent; does not cancel.
  ~CancellationSource();
  CancellationSource(CancellationSource&&) noexcept;
  CancellationSource& operator=(CancellationSource&&) noexcept;
  CancellationSource(const CancellationSource&) = delete;
  CancellationSource& operator=(const CancellationSource&) = delete;

  // cancel: cancels this source and its children and asks every task spawned with one of their
  // tokens to cancel (which wakes it if parked). Idempotent; never throws. A moved-from source
  // ignores it.
  void cancel() noexcept;
  // cancelled: true once cancel() was called on it or an ancestor.
  bool cancelled() const noexcept { return source_.stop_requested(); }
  // token: a token that reads this source.
  CancellationToken token() const noexcept { return CancellationToken(source_.get_token()); }

 private:
  struct ParentLink;
  std::stop_source source_;
  std::unique_ptr<ParentLink> parent_link_;
};

}  // namespace weft
