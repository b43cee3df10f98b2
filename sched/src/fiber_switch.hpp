// fiber_switch.hpp: the raw machine-context switch and its sanitizer annotations.
//
// Contexts are Boost.Context fcontexts (make/jump). Nothing here knows about tasks or workers: the
// worker passes in which stacks are involved so ASan and TSan can follow the switch.
#pragma once

#include <cstddef>

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
void* jump(const Side& from, const Side& to) noexcept;

// landed: first call after jump() returns or after an entry starts, with the landing side's saved
// fake stack (nullptr for a fresh fiber).
void landed(void* asan_fake_stack) noexcept;

// tsan_create / tsan_destroy: the TSan fiber object of a fiber (nullptr without TSan).
void* tsan_create() noexcept;
void tsan_destroy(void* fiber) noexcept;
void* tsan_current() noexcept;

}  // namespace weft::sched::fiber_switch
