#include "stack_overflow.hpp"

#include "stack_pool.hpp"
#include "worker.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>

namespace weft::sched {
namespace {

struct sigaction g_previous;

void write_str(const char* s) {
  ssize_t r = ::write(STDERR_FILENO, s, std::strlen(s));
  (void)r;
}

void write_u64(std::uint64_t v) {
  char buf[24];
  char* p = buf + sizeof buf;
  *--p = '\0';
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  write_str(p);
}

void on_segv(int sig, siginfo_t* info, void* uctx) {
  const int saved_errno = errno;
  Worker* w = stack_overflow_worker();
  Task* t = w ? w->current() : nullptr;
  if (t) {
    const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    const auto lo = reinterpret_cast<std::uintptr_t>(t->core().stack_base);
    const auto hi = lo + Stack::guard_size();
    if (lo != 0 && addr >= lo && addr < hi) {
      write_str("weft: stack overflow in fiber ");
      write_u64(t->id());
      write_str(" '");
      write_str(t->core().name ? t->core().name->c_str() : "");
      write_str("' (stack size ");
      write_u64(t->core().stack_size);
      write_str(" bytes; raise Config::stack_size or SpawnOptions::stack_size)\n");
      std::abort();
    }
  }
  errno = saved_errno;
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) {
      g_previous.sa_sigaction(sig, info, uctx);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting instruction faults again and kills us.
  ::signal(SIGSEGV, SIG_DFL);
}

}  // namespace

namespace {
// Enough for the report and for chaining to a sanitizer's handler.
constexpr std::size_t kAltStackSize = 64 * 1024;
}

StackOverflowGuard::StackOverflowGuard() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (::sigaction(SIGSEGV, &sa, &g_previous) != 0) {
      throw std::system_error(errno, std::system_category(), "weft: install SIGSEGV handler");
    }
  });
  // Keep an alternate stack someone else installed (a sanitizer runtime sets one per thread and
  // unmaps it itself at thread exit): replacing it would make that unmap hit our mapping.
  stack_t current{};
  if (::sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE) && current.ss_size >= kAltStackSize) {
    return;
  }
  void* mem = ::mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) throw std::system_error(errno, std::system_category(), "weft: mmap signal stack");
  stack_t ss{};
  ss.ss_sp = mem;
  ss.ss_size = kAltStackSize;
  if (::sigaltstack(&ss, nullptr) != 0) {
    const int err = errno;
    ::munmap(mem, kAltStackSize);
    throw std::system_error(err, std::system_category(), "weft: sigaltstack");
  }
  alt_stack_ = mem;
}

StackOverflowGuard::~StackOverflowGuard() {
  if (!alt_stack_) return;
  stack_t ss{};
  ss.ss_flags = SS_DISABLE;
  ::sigaltstack(&ss, nullptr);
  ::munmap(alt_stack_, kAltStackSize);
}

}  // namespace weft::sched
