#include <weft/runtime/runtime.hpp>

#include <system_error>

namespace weft {

namespace {
constexpr std::size_t kMinStackSize = 16 * 1024;
constexpr unsigned kMaxWorkers = 4096;

sched::Scheduler::Options scheduler_options(const Config& cfg) {
  if (cfg.stack_size < kMinStackSize) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::Config::stack_size must be at least 16 KiB");
  }
  if (cfg.workers > kMaxWorkers) {
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "weft::Config::workers must be at most 4096");
  }
  sched::Scheduler::Options o;
  o.workers = cfg.workers;
  o.stack_size = cfg.stack_size;
  return o;
}
}  // namespace

Runtime::Runtime(Config cfg) : sched_(std::make_unique<sched::Scheduler>(scheduler_options(cfg))) {}

Runtime::~Runtime() = default;

void Runtime::shutdown() { sched_->shutdown(); }

namespace detail {
sched::Scheduler& current_scheduler(const char* what) {
  sched::Scheduler* s = sched::Scheduler::current();
  if (!s) throw std::logic_error(std::string(what) + " called outside a fiber; use Runtime::spawn from plain threads");
  return *s;
}
}  // namespace detail

}  // namespace weft
