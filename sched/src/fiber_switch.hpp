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
#if defined(__x86_64__)
  // jump_fcontext leaves by `jmp`, not `ret`, so a plain call leaves its return address on the
  // CPU's return-stack predictor, and every `ret` on the way up the resumed fiber's frames is then
  // predicted one frame off: a misprediction per frame, per switch. Entering it with push + jmp
  // keeps the predictor in step with the stack, so the resumed side's returns are predicted (its
  // frames mirror the suspender's whenever both switch from the same code). The first 128 bytes
  // below %rsp are the red zone, which the push must not overwrite.
  void* context = to.context;
  void* data = nullptr;
  void* from_context;
  asm volatile(
      "lea -128(%%rsp), %%rsp\n\t"
      "lea 1f(%%rip), %%rax\n\t"
      "push %%rax\n\t"
      "jmp jump_fcontext@PLT\n"
      "1:\n\t"
      "lea 128(%%rsp), %%rsp"
      : "+D"(context), "+S"(data), "=a"(from_context)
      :
      // Everything the SysV ABI lets a callee clobber; jump_fcontext itself restores the rest.
      : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
        "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "st",
        "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"
#if defined(__AVX512F__)
        , "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26",
        "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#endif
  );
  return from_context;
#else
  return boost::context::detail::jump_fcontext(to.context, nullptr).fctx;
#endif
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

// clear_stack_redzones: a stack is about to host a new fiber, or to be unmapped. Under ASan the
// frames of the fiber that ended on it never returned, so their redzones are still poisoned in
// ASan's shadow: clear them. (Unmapping does not clear shadow memory: a thread stack mapped later
// at the same addresses inherited them, and its TLS destructors failed as stack-buffer-underflow.)
inline void clear_stack_redzones(void* stack_bottom, std::size_t size) noexcept {
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
