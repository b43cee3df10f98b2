#include <weft/io/backend.hpp>
#include <weft/runtime/runtime.hpp>

#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>

namespace weft {

namespace {
constexpr std::size_t kMinStackSize = 16 * 1024;

constexpr unsigned kMaxWorkers = 4096;
constexpr unsigned kMaxBlockingThreads = 4096;

// sched_seed: Config::sched_seed, unless WEFT_SCHED_SEED is set (and not empty), which overrides
// it so a test suite can be run whole under a seed. A value that is not a decimal number below 2^64
// is an error: a seed that is silently ignored would make a failure look unreproducible.
std::uint64_t sched_seed(const Config& cfg) {
  const char* env = std::getenv("WEFT_SCHED_SEED");
  if (!env || !*env) return cfg.sched_seed;
  std::uint64_t seed = 0;
  const char* end = env + std::strlen(env);
  const auto [ptr, ec] = std::from_chars(env, end, seed);
  if (ec != std::errc{} || ptr != end) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            std::string("weft: WEFT_SCHED_SEED=") + env + " (expected a decimal number, 0 for off)");
  }
  return seed;
}

sched::Scheduler::Options scheduler_options(const Config& cfg, Backend backend) {
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
  if (cfg.shutdown_timeout.count() < 0) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::Config::shutdown_timeout must not be negative");
  }
  if (cfg.workers > kMaxWorkers) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::Config::workers must be at most 4096");
  }
  sched::Scheduler::Options o;
  o.workers = cfg.workers;
  o.stack_size = cfg.stack_size;
  o.driver_factory = io::backend_driver_factory(backend);
  o.blocking_threads = cfg.blocking_threads;
  o.stall_threshold = cfg.stall_threshold;
  o.seed = sched_seed(cfg);
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

Runtime::Runtime(Config cfg)
    : backend_(io::select_backend(cfg.backend)),
      shutdown_timeout_(cfg.shutdown_timeout),
      on_shutdown_report_(std::move(cfg.on_shutdown_report)),
      sched_((ignore_sigpipe(), std::make_unique<sched::Scheduler>(scheduler_options(cfg, backend_)))) {}

Runtime::~Runtime() {
  if (sched::Scheduler::current() == sched_.get()) {
    std::fputs("weft: a Runtime was destroyed from one of its own fibers\n", stderr);
    std::abort();
  }
  shutdown();
}

void Runtime::shutdown() {
  const ShutdownReport report = sched_->shutdown_until(sched::deadline_after(shutdown_timeout_));
  if (report.complete()) return;
  if (on_shutdown_report_) {
    on_shutdown_report_(report);
  } else {
    std::fprintf(stderr, "weft: shutdown: %s within %lld ms of being cancelled; waiting for them\n",
                 describe(report).c_str(), static_cast<long long>(shutdown_timeout_.count()));
  }
  sched_->shutdown();
}

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

Metrics Runtime::metrics() const {
  Metrics m;
  m.backend = backend_;
  m.workers = sched_->workers();
  for (const sched::WorkerStats& w : sched_->stats()) {
    m.tasks_started += w.tasks_started;
    m.tasks_finished += w.tasks_finished;
    m.resumes += w.resumes;
    m.steals += w.tasks_stolen;
    m.parks += w.parks;
    m.wakeups += w.wakeups;
    m.sqes_submitted += w.io.sqes_submitted;
    m.uring_enters += w.io.uring_enters;
    m.cq_overflows += w.io.cq_overflows;
    m.cqes_reaped += w.io.cqes_reaped;
    m.epoll_waits += w.io.epoll_waits;
    m.epoll_ctls += w.io.epoll_ctls;
    m.pool_ops += w.io.pool_ops;
  }
  return m;
}

}  // namespace weft
