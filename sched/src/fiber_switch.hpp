// fiber_switch.hpp: the raw machine-context switch and its sanitizer annotations.
//
// Contexts are Boost.Context fcontexts (make/jump). Nothing here knows about tasks or workers: the
// worker passes in which stacks are involved so ASan and TSan can follow the switch. jump() and
// landed() are inline: they are on the path of every fiber switch.
#pragma once

#include <boost/context/detail/fcontext.hpp>

#include <cstddef>

#if defined(WEFT_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(WEFT_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

namespace weft::sched::fiber_switch {

using Entry = void (*)(void* from_context);

// make: a new context on [stack_bottom, stack_bottom + size) that starts in `entry`, which
// receives the context that switched to it. `entry` must never return. All fibers of the process
// share one entry.
void* make(void* stack_bottom, std::size_t size, Entry entry) noexcept;

// Side: one end of a switch, as the sanitizers need to see it.
struct Side {
  void* context;            // where to jump (target side only)
  const void* stack_bottom; // lowest usable address of its stack
  std::size_t stack_size;
  void** asan_fake_stack;   // where ASan keeps this side's fake stack; nullptr on a finished side
  void* tsan_fiber;
};

// jump: saves the running context, switches to `to`. Returns, when something switches back, the
// context that did. `from.asan_fake_stack == nullptr` tells ASan the departing stack is finished.
inline void* jump(const Side& from, const Side& to) noexcept {
#if defined(WEFT_ASAN)
  __sanitizer_start_switch_fiber(from.asan_fake_stack, to.stack_bottom, to.stack_size);
#endif
#if defined(WEFT_TSAN)
  __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
  (void)from;
  return boost::context::detail::jump_fcontext(to.context, nullptr).fctx;
}

// landed: first call after jump() returns or after an entry starts, with the landing side's saved
// fake stack (nullptr for a fresh fiber).
inline void landed(void* asan_fake_stack) noexcept {
#if defined(WEFT_ASAN)
  __sanitizer_finish_switch_fiber(asan_fake_stack, nullptr, nullptr);
#else
  (void)asan_fake_stack;
#endif
}

// fresh_stack: a pooled stack is about to host a new fiber. Under ASan the frames of the fiber
// that ended on it never returned, so their redzones are still poisoned: clear them.
inline void fresh_stack(void* stack_bottom, std::size_t size) noexcept {
#if defined(WEFT_ASAN)
  __asan_unpoison_memory_region(stack_bottom, size);
#else
  (void)stack_bottom;
  (void)size;
#endif
}

// tsan_create / tsan_destroy: the TSan fiber object of a fiber (nullptr without TSan).
void* tsan_create() noexcept;
void tsan_destroy(void* fiber) noexcept;
void* tsan_current() noexcept;

}  // namespace weft::sched::fiber_switch
