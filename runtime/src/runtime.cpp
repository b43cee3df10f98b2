#include <weft/io/uring_driver.hpp>
#include <weft/runtime/runtime.hpp>

#include <signal.h>

#include <cstdio>
#include <mutex>
#include <system_error>

namespace weft {

namespace {
constexpr std::size_t kMinStackSize = 16 * 1024;

// io_uring_available: probes once per process by setting up a ring. Where the kernel refuses
// (ENOSYS: too old; EPERM: seccomp or kernel.io_uring_disabled; EOPNOTSUPP; ENOMEM: locked-memory
// limit) it says so once: the workers then park on an eventfd and IO operations fail with
// std::errc::function_not_supported. The epoll backend (its own issue) will take over here.
bool io_uring_available() {
  static const bool available = [] {
    try {
      io::make_uring_driver(io::UringOptions{.entries = 4});
      return true;
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "weft: io_uring unavailable (%s); IO operations will fail until a fallback backend exists\n",
                   e.code().message().c_str());
      return false;
    }
  }();
  return available;
}
constexpr unsigned kMaxWorkers = 4096;
constexpr unsigned kMaxBlockingThreads = 4096;

sched::Scheduler::Options scheduler_options(const Config& cfg) {
  if (cfg.stack_size < kMinStackSize) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::Config::stack_size must be at least 16 KiB");
  }
  if (cfg.blocking_threads > kMaxBlockingThreads) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::Config::blocking_threads must be at most 4096");
  }
  if (cfg.stall_threshold.count() < 0) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::Config::stall_threshold must not be negative");
  }
  if (cfg.workers > kMaxWorkers) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::Config::workers must be at most 4096");
  }
  sched::Scheduler::Options o;
  o.workers = cfg.workers;
  o.stack_size = cfg.stack_size;
  o.blocking_threads = cfg.blocking_threads;
  o.stall_threshold = cfg.stall_threshold;
  if (io_uring_available()) {
    o.driver_factory = [](unsigned) { return io::make_uring_driver(io::UringOptions{}); };
  }
  return o;
}
}  // namespace

// ignore_sigpipe: a write to a closed socket or pipe raises SIGPIPE, whose default action kills
// the whole program for one peer that went away (io_uring writes raise it too, and MSG_NOSIGNAL
// does not exist for pipes). Like Rust's runtime, weft ignores it when nobody installed a handler,
// so such writes fail with EPIPE instead.
namespace {
void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction old {};
    if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO)) {
      ::signal(SIGPIPE, SIG_IGN);
    }
  });
}
}  // namespace

Runtime::Runtime(Config cfg) : sched_((ignore_sigpipe(), std::make_unique<sched::Scheduler>(scheduler_options(cfg)))) {}

Runtime::~Runtime() = default;

void Runtime::shutdown() { sched_->shutdown(); }

ShutdownReport Runtime::shutdown(std::chrono::steady_clock::time_point deadline) {
  return sched_->shutdown_until(deadline);
}

namespace detail {
sched::Scheduler& current_scheduler(const char* what) {
  sched::Scheduler* s = sched::Scheduler::current();
  if (!s) throw std::logic_error(std::string(what) + " called outside a fiber; use Runtime::spawn from plain threads");
  return *s;
}
}  // namespace detail

}  // namespace weft
