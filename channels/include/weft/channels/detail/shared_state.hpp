// shared_state.hpp: what Broadcast and Watch share: the two counts behind their handles, and the
// owning pointers the handles hold.
//
// `refs` keeps the state's memory: every handle (sender or receiver) holds one. `senders` decides
// closing: when the last sender handle goes, the state's close() runs, so receivers waiting see
// errc::closed instead of waiting forever. Both start at the pair make_* returns (one sender, one
// receiver).
//
// Thread-safety: the counts are atomics; handles may be copied and destroyed on any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <utility>

namespace weft::detail {

// SharedCounts: a CRTP base; Derived provides close() and is deleted by the last reference.
template <class Derived>
class SharedCounts {
 public:
  void ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  // unref: acq_rel so the last one sees every other handle's writes before deleting.
  void unref() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete static_cast<Derived*>(this);
  }
  void add_sender() noexcept {
    senders_.fetch_add(1, std::memory_order_relaxed);
    ref();
  }
  // drop_sender: acq_rel pairs with the other senders' decrements: the last one closes after
  // every other sender's sends.
  void drop_sender() noexcept {
    if (senders_.fetch_sub(1, std::memory_order_acq_rel) == 1) static_cast<Derived*>(this)->close();
    unref();
  }

 protected:
  SharedCounts() = default;
  ~SharedCounts() = default;

 private:
  std::atomic<std::size_t> refs_{2};
  std::atomic<std::size_t> senders_{1};
};

// StateRef: an owning pointer counted in `refs` only (receivers). The constructor adopts a
// reference the caller already holds (make_*), or takes a new one.
template <class S>
class StateRef {
 public:
  enum class Adopt : bool { no, yes };
  StateRef(S* s, Adopt adopt) noexcept : s_(s) {
    if (adopt == Adopt::no) s_->ref();
  }
  StateRef(const StateRef& o) noexcept : s_(o.s_) { s_->ref(); }
  StateRef(StateRef&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  StateRef& operator=(StateRef o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~StateRef() {
    if (s_) s_->unref();
  }
  S* operator->() const noexcept { return s_; }
  S* get() const noexcept { return s_; }

 private:
  S* s_;
};

// SenderRef: an owning pointer counted as a sender (adopts the reference make_* created).
template <class S>
class SenderRef {
 public:
  explicit SenderRef(S* s) noexcept : s_(s) {}
  SenderRef(const SenderRef& o) noexcept : s_(o.s_) { s_->add_sender(); }
  SenderRef(SenderRef&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  SenderRef& operator=(SenderRef o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~SenderRef() {
    if (s_) s_->drop_sender();
  }
  S* operator->() const noexcept { return s_; }
  S* get() const noexcept { return s_; }

 private:
  S* s_;
};

}  // namespace weft::detail
