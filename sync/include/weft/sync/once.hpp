// weft/sync/once.hpp: run an initializer exactly once (OnceFlag + call_once) and a lazily
// initialised value (OnceCell<T>), for fibers and plain threads.
//
// The first caller runs the initializer; concurrent callers wait (suspending a fiber, blocking a
// thread) until it finished, then return without running it. If the initializer throws, the
// exception propagates to its caller, nothing is marked done, and one of the waiters (or the next
// caller) runs the initializer again (as std::call_once).
//
// Cancellation: waiting for another caller's initializer is a cancellation point. call_once() and
// OnceCell::get_or_init()/set() throw std::system_error(errc::cancelled) when the calling fiber is
// cancelled while it waits (their signatures return the callable's result, so there is no error
// channel); the running initializer is unaffected.
//
// Thread-safety: all members from any fiber or thread. The initializer's effects happen before the
// return of every call that found it done. An initializer must not call back into the same flag or
// cell (it would wait for itself).
//
//   weft::OnceCell<Config> cfg;
//   const Config& c = cfg.get_or_init([] { return load_config(); });
//   weft::OnceFlag flag; weft::call_once(flag, [] { init_library(); });
#pragma once

#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <utility>

namespace weft {

template <class T>
class OnceCell;

// OnceFlag: the state of one once-only initialization.
class OnceFlag {
 public:
  OnceFlag() noexcept = default;
  OnceFlag(const OnceFlag&) = delete;
  OnceFlag& operator=(const OnceFlag&) = delete;

  // is_done: true once an initializer completed (acquire: its effects are visible).
  bool is_done() const noexcept { return state_.load(std::memory_order_acquire) == kDone; }

  // begin: true when the caller must run the initializer (then it calls commit() or abort());
  // false when it is done. Waits while another caller runs it. Throws
  // std::system_error(errc::cancelled) when the calling fiber is cancelled while it waits.
  bool begin();
  // commit: marks done and releases the waiters. Only after begin() returned true.
  void commit() noexcept;
  // abort: the initializer failed: back to not-done; the waiters re-check (one runs it again).
  void abort() noexcept;

 private:
  static constexpr std::uint8_t kEmpty = 0, kRunning = 1, kDone = 2;
  std::atomic<std::uint8_t> state_{kEmpty};  // kRunning/kEmpty changes under the queue lock
  sync::WaitQueue queue_;
};

// call_once: runs f(args...) unless `flag` is done (see the file comment). Rethrows f's exception;
// throws std::system_error(errc::cancelled) when cancelled while waiting for another caller's run.
template <class F, class... Args>
void call_once(OnceFlag& flag, F&& f, Args&&... args) {
  if (flag.is_done() || !flag.begin()) return;
  struct Abort {
    OnceFlag* flag;
    ~Abort() {
      if (flag) flag->abort();
    }
  } guard{&flag};
  std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  guard.flag = nullptr;
  flag.commit();
}

// OnceCell<T>: a T initialised at most once, on first use.
template <class T>
class OnceCell {
 public:
  OnceCell() noexcept = default;
  OnceCell(const OnceCell&) = delete;
  OnceCell& operator=(const OnceCell&) = delete;
  // ~OnceCell: destroys the value if it was initialised. No call may be in progress.
  ~OnceCell() {
    if (flag_.is_done()) ptr()->~T();
  }

  // get: the value, or nullptr when not (yet) initialised. Never waits.
  T* get() noexcept { return flag_.is_done() ? ptr() : nullptr; }
  const T* get() const noexcept { return flag_.is_done() ? ptr() : nullptr; }

  // get_or_init: the value, initialising it with f() if nobody did; waits while another caller
  // initialises it. Rethrows f's exception (the cell stays empty); throws
  // std::system_error(errc::cancelled) when cancelled while waiting.
  template <class F>
  T& get_or_init(F&& f) {
    if (flag_.is_done()) return *ptr();
    call_once(flag_, [&] { ::new (static_cast<void*>(storage_)) T(std::invoke(std::forward<F>(f))); });
    return *ptr();
  }

  // set: stores `value` if the cell is empty; returns false (and drops `value`) when it was already
  // initialised. Waits and throws as get_or_init().
  bool set(T value) {
    bool stored = false;
    get_or_init([&] {
      stored = true;
      return std::move(value);
    });
    return stored;
  }

 private:
  T* ptr() noexcept { return std::launder(reinterpret_cast<T*>(storage_)); }
  const T* ptr() const noexcept { return std::launder(reinterpret_cast<const T*>(storage_)); }

  OnceFlag flag_;
  alignas(T) std::byte storage_[sizeof(T)];
};

}  // namespace weft
