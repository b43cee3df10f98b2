#include <weft/sched/task.hpp>
#include <weft/sched/this_fiber.hpp>
#include <weft/sched/waker.hpp>

#include "scheduler_impl.hpp"
#include <weft/sched/waker.hpp>

#include <stdexcept>

namespace weft::sched {

Task::~Task() { delete core_.own_token.load(std::memory_order_relaxed); }

const std::string& Task::name() const noexcept {
  static const std::string empty;
  return core_.name ? *core_.name : empty;
}

bool Task::is_finished() const noexcept {
  // acquire pairs with the acq_rel exchange in Scheduler::Impl::complete: the result is visible.
  return core_.joiner.load(std::memory_order_acquire) == kJoinDone;
}

void Task::request_cancel() noexcept {
  // seq_cst: pairs with the acquire in cancel_requested(), and with this_fiber::cancellation_token()
  // (which stores own_token, then reads this flag): either we see its token here, or it sees the flag.
  core_.cancel_requested.store(true, std::memory_order_seq_cst);
  if (std::stop_source* own = core_.own_token.load(std::memory_order_seq_cst)) own->request_stop();
  // The wake-up makes a parked task look.
  wake_task(this);
}

Result<void> Task::wait_finished() noexcept {
  if (is_finished()) return {};
  std::uintptr_t mine = 0;
  try {
    mine = Waker::current().into_bits();
  } catch (...) {
    return fail(std::errc::not_enough_memory);
  }
  std::uintptr_t expected = 0;
  if (!core_.joiner.compare_exchange_strong(expected, mine, std::memory_order_acq_rel, std::memory_order_acquire)) {
    Waker::from_bits(mine).reset();
    // Only kJoinDone can be there: a JoinHandle is the task's single joiner.
    return {};
  }
  while (!is_finished()) {
    if (this_fiber::cancellation_requested()) {
      // Take our registration back; if the task finished meanwhile, it took (and woke) it.
      expected = mine;
      if (core_.joiner.compare_exchange_strong(expected, 0, std::memory_order_acq_rel, std::memory_order_acquire)) {
        Waker::from_bits(mine).reset();
        return fail(errc::cancelled);
      }
      return {};
    }
    park();
  }
  return {};
}

}  // namespace weft::sched
