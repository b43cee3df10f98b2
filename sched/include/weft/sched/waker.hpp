// weft/sched/waker.hpp: park the calling fiber or thread, and wake it from anywhere.
//
// This is the one blocking primitive everything else (join, sleep, the sync wait queue, channels)
// is built on. It works the same for a fiber (which suspends; its worker runs other fibers) and for a
// plain thread (which blocks on a futex), so every primitive built on it works from both.
//
// Semantics are those of a permit (like Rust's thread::park): wake() makes the permit available and
// resumes the context if it is parked; park() consumes the permit or waits for it. A wake() that
// arrives before the park() is therefore never lost, and park() may return spuriously: callers loop
// on their own condition.
//
// Thread-safety: Waker is a move-only owning handle; wake() may be called from any thread, any
// number of times. A Waker keeps its fiber's or thread's wake state alive, so waking a context that
// has since moved on (or ended) is harmless.
//
//   weft::sched::Waker w = weft::sched::Waker::current();
//   publish(std::move(w));                 // someone calls w.wake() later
//   while (!ready()) weft::sched::park();
#pragma once

#include <chrono>
#include <cstdint>

namespace weft::sched {

class Task;

// ContextRef: the fiber or thread a Waker would wake, without the reference a Waker holds. Saving
// that reference saves two locked instructions per wait, but only a protocol that keeps the
// context alive until its last wake() returned may use it: sync::WaitQueue's waiter does not leave
// its wait until the notifier has said it is done with it. Everything else uses Waker.
class ContextRef {
 public:
  ContextRef() noexcept = default;
  // current: the calling fiber, or the calling thread outside fibers.
  static ContextRef current();
  // wake: as Waker::wake(). The context must still exist.
  void wake() const noexcept;

 private:
  friend class Waker;
  explicit ContextRef(std::uintptr_t bits) noexcept : bits_(bits) {}
  std::uintptr_t bits_ = 0;  // Task* (fiber) or ThreadParker* | 1 (plain thread)
};

// Waker: an owning handle that wakes one fiber or thread.
class Waker {
 public:
  Waker() noexcept = default;
  Waker(Waker&& other) noexcept : bits_(other.bits_) { other.bits_ = 0; }
  Waker& operator=(Waker&& other) noexcept {
    if (this != &other) {
      reset();
      bits_ = other.bits_;
      other.bits_ = 0;
    }
    return *this;
  }
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;
  ~Waker() { reset(); }

  // current: a Waker for the calling fiber, or for the calling thread outside fibers.
  static Waker current();

  // wake: makes the permit available and resumes the context if it is parked. Never blocks.
  void wake() const noexcept;
  // clone: another handle to the same context.
  Waker clone() const noexcept;
  // reset: drops the handle (the context is not woken). Inline: most Wakers reset are empty.
  void reset() noexcept {
    if (bits_) release();
  }
  explicit operator bool() const noexcept { return bits_ != 0; }
  bool same_context(const Waker& other) const noexcept { return bits_ == other.bits_; }

  // into_bits / from_bits: move the reference through an atomic word (e.g. a join slot).
  std::uintptr_t into_bits() && noexcept {
    auto b = bits_;
    bits_ = 0;
    return b;
  }
  static Waker from_bits(std::uintptr_t bits) noexcept {
    Waker w;
    w.bits_ = bits;
    return w;
  }

 private:
  void release() noexcept;  // drops the reference; bits_ != 0
  std::uintptr_t bits_ = 0;  // Task* (fiber) or ThreadParker* | 1 (plain thread)
};

// current_task: the task of the calling fiber, nullptr on a plain thread.
Task* current_task() noexcept;

// wake_task: Waker::wake() without a handle, for hot paths that can prove `t` alive: the caller
// must know the task cannot end before this call returns (e.g. it is parked waiting for the very
// event the caller delivers, and does not leave before the caller signals it is done).
// A parked task becomes queued on the calling worker when the caller is a worker of the same
// scheduler (the fiber migrates to its waker, where the data it waits for is hot), else in its
// home worker's inbox. `lifo` puts it in the LIFO slot (it runs next); otherwise it goes to the
// back of the queue, which keeps a batch of wake-ups (expired timers) in order.
void wake_task(Task* t, bool lifo = true) noexcept;

// park: suspends the calling fiber (or blocks the calling thread) until its permit is available,
// then consumes it. May return spuriously.
void park();

// park_until: as park(), but returns no later than about `deadline`. Returns false when the
// deadline passed (a wake may have raced with it; callers re-check their condition either way).
bool park_until(std::chrono::steady_clock::time_point deadline);

// saturating_deadline: now + d without overflow (huge durations become time_point::max()).
std::chrono::steady_clock::time_point saturating_deadline(std::chrono::steady_clock::duration d) noexcept;
template <class Rep, class Period>
std::chrono::steady_clock::time_point deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
  using D = std::chrono::steady_clock::duration;
  if (d <= std::chrono::duration<Rep, Period>::zero()) return std::chrono::steady_clock::now();
  if (std::chrono::duration<long double, std::nano>(d) >= std::chrono::duration<long double, std::nano>(D::max()))
    return std::chrono::steady_clock::time_point::max();
  return saturating_deadline(std::chrono::ceil<D>(d));
}

}  // namespace weft::sched
