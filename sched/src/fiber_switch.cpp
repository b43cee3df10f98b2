#include "fiber_switch.hpp"

#include <atomic>

namespace weft::sched::fiber_switch {
namespace bctx = boost::context::detail;

namespace {
// Every fiber starts in the same entry (the worker's), so it is kept once rather than per fiber.
std::atomic<Entry> g_entry{nullptr};

void trampoline(bctx::transfer_t t) {
  g_entry.load(std::memory_order_relaxed)(t.fctx);
  __builtin_unreachable();
}
}  // namespace

void* make(void* stack_bottom, std::size_t size, Entry entry) noexcept {
  g_entry.store(entry, std::memory_order_relaxed);
  return bctx::make_fcontext(static_cast<char*>(stack_bottom) + size, size, &trampoline);
}

void* tsan_create() noexcept {
#if defined(WEFT_TSAN)
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}

void tsan_destroy(void* fiber) noexcept {
#if defined(WEFT_TSAN)
  if (fiber) __tsan_destroy_fiber(fiber);
#else
  (void)fiber;
#endif
}

void* tsan_current() noexcept {
#if defined(WEFT_TSAN)
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}

}  // namespace weft::sched::fiber_switch
