#include "idle.hpp"

#include <algorithm>

namespace weft::sched {

Idle::Idle(unsigned workers) : workers_(workers), state_(workers << kUnparkShift) {
  sleepers_.reserve(workers);
}

int Idle::worker_to_notify() {
  // Pairs with the seq_cst RMW in transition_to_parked (argument in idle.hpp, point 3).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!should_notify(state_.load(std::memory_order_seq_cst))) return -1;
  std::lock_guard lock(mu_);
  if (!should_notify(state_.load(std::memory_order_seq_cst)) || sleepers_.empty()) return -1;
  state_.fetch_add((1u << kUnparkShift) | 1u, std::memory_order_seq_cst);
  const unsigned index = sleepers_.back();
  sleepers_.pop_back();
  return static_cast<int>(index);
}

bool Idle::transition_to_searching() noexcept {
  std::uint32_t s = state_.load(std::memory_order_seq_cst);
  for (;;) {
    if (2 * (s & kSearchMask) >= workers_) return false;
    if (state_.compare_exchange_weak(s, s + 1, std::memory_order_seq_cst)) return true;
  }
}

bool Idle::transition_from_searching() noexcept {
  return (state_.fetch_sub(1, std::memory_order_seq_cst) & kSearchMask) == 1;
}

bool Idle::transition_to_parked(unsigned index, bool searching) {
  std::lock_guard lock(mu_);
  const std::uint32_t dec = (1u << kUnparkShift) | (searching ? 1u : 0u);
  const std::uint32_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
  sleepers_.push_back(index);
  return searching && (prev & kSearchMask) == 1;
}

bool Idle::unpark_self(unsigned index) {
  std::lock_guard lock(mu_);
  auto it = std::find(sleepers_.begin(), sleepers_.end(), index);
  if (it == sleepers_.end()) return false;
  sleepers_.erase(it);
  state_.fetch_add(1u << kUnparkShift, std::memory_order_seq_cst);
  return true;
}

std::vector<unsigned> Idle::sleepers() {
  std::lock_guard lock(mu_);
  return sleepers_;
}

}  // namespace weft::sched
