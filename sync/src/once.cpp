// once.cpp: OnceFlag's state moves empty -> running -> done (or back to empty on abort) under the
// queue lock; a caller that finds it running queues under that lock, so commit()/abort(), which
// notify under the lock, always find it.
#include <weft/sync/once.hpp>

#include <weft/sched/error.hpp>

#include <system_error>

namespace weft {

bool OnceFlag::begin() {
  for (;;) {
    sync::Waiter w;
    {
      auto g = queue_.lock();
      const std::uint8_t s = state_.load(std::memory_order_acquire);
      if (s == kDone) return false;
      if (s == kEmpty) {
        state_.store(kRunning, std::memory_order_relaxed);
        return true;
      }
      queue_.push_back(g, w);
    }
    if (queue_.wait(w, sync::Clock::time_point::max(), true) == sync::WaitStatus::cancelled)
      throw std::system_error(make_error_code(errc::cancelled));
  }
}

void OnceFlag::commit() noexcept {
  sync::WakeList wakes;
  auto g = queue_.lock();
  // Release: pairs with the acquire loads in is_done()/begin(): the value is visible.
  state_.store(kDone, std::memory_order_release);
  queue_.notify_all(g, 0, wakes);
}

void OnceFlag::abort() noexcept {
  sync::WakeList wakes;
  auto g = queue_.lock();
  state_.store(kEmpty, std::memory_order_relaxed);
  queue_.notify_all(g, 0, wakes);
}

}  // namespace weft
