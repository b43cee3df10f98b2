// stack_overflow.hpp: turns a fiber's guard-page hit into a report naming the fiber.
//
// A SIGSEGV handler, run on a per-worker alternate signal stack (the faulting stack is unusable),
// checks whether the fault address lies in the guard pages of the fiber running on this thread. If
// so it writes "weft: stack overflow in fiber <id> '<name>' ..." to stderr with async-signal-safe
// calls and aborts. Any other fault goes to the handler that was installed before (ASan's, or the
// default action), so unrelated crashes look as they would without weft.
#pragma once

namespace weft::sched {

// StackOverflowGuard: lives on a worker thread's own stack for the thread's lifetime.
class StackOverflowGuard {
 public:
  // Installs this thread's alternate signal stack and, once per process, the handler. Throws
  // std::system_error if mmap, sigaltstack or sigaction fail.
  StackOverflowGuard();
  // Disables and unmaps the alternate stack.
  ~StackOverflowGuard();
  StackOverflowGuard(const StackOverflowGuard&) = delete;
  StackOverflowGuard& operator=(const StackOverflowGuard&) = delete;

 private:
  void* alt_stack_ = nullptr;
};

}  // namespace weft::sched
