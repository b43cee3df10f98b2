// epoll_driver.cpp: the worker side of the epoll backend (protocol in epoll_driver.hpp).
#include "epoll_driver.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace weft::io {
namespace {
constexpr std::uint32_t kAlwaysReported = EPOLLERR | EPOLLHUP;

// Every live EpollDriver of the process, for evict_fd_everywhere.
std::mutex g_drivers_mu;
std::vector<EpollDriver*> g_drivers;
// The close epoch (see epoll_driver.hpp); seq_cst on both sides, the kernel's fd table orders a
// close before the reuse of its number.
std::atomic<std::uint64_t> g_close_epoch{1};
}  // namespace

EpollDriver::EpollDriver() : IoBackend(&kEpollKind), events_(256) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::system_category(), "weft: epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: pending wake-ups show until consumed
  ev.data.fd = wake_.fd();
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_.fd(), &ev) != 0) {
    const int e = errno;
    ::close(epfd_);
    throw std::system_error(e, std::system_category(), "weft: epoll_ctl(eventfd)");
  }
  std::lock_guard lock(g_drivers_mu);
  g_drivers.push_back(this);
}

EpollDriver::~EpollDriver() {
  {
    std::lock_guard lock(g_drivers_mu);
    std::erase(g_drivers, this);
  }
  ::close(epfd_);
}

void evict_fd_everywhere(int fd) noexcept {
  EpollDriver* here = current_epoll();
  std::lock_guard lock(g_drivers_mu);
  if (g_drivers.empty()) return;
  const std::uint64_t epoch = g_close_epoch.fetch_add(1) + 1;
  for (EpollDriver* d : g_drivers) {
    if (d == here) {
      d->evict(fd, epoch);
    } else if (d->waiting_.load(std::memory_order_relaxed) > 0) {
      // A driver without waiters has none on this fd (a waiter being added right now on another
      // worker races with the close itself, which is the caller's race).
      d->post_evict(fd, epoch);
    }
  }
}

void EpollDriver::post_evict(int fd, std::uint64_t epoch) {
  try {
    std::lock_guard lock(evict_mu_);
    evicts_.emplace_back(fd, epoch);
  } catch (...) {
    return;  // out of memory: the waiters stay until the fd reports something
  }
  // release pairs with drain_posted's acquire.
  has_evicts_.store(true, std::memory_order_release);
  unpark();
}

bool EpollDriver::drain_posted() {
  bool any = drain_posted_cancels();
  if (has_evicts_.load(std::memory_order_acquire)) {
    std::vector<std::pair<int, std::uint64_t>> fds;
    {
      std::lock_guard lock(evict_mu_);
      fds.swap(evicts_);
      has_evicts_.store(false, std::memory_order_relaxed);
    }
    for (auto [fd, epoch] : fds) evict(fd, epoch);
    any = any || !fds.empty();
  }
  return any;
}

EpollDriver::FdState& EpollDriver::state(int fd) {
  if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) + 64);
  return fds_[static_cast<std::size_t>(fd)];
}

int EpollDriver::arm(int fd, FdState& st) {
  std::uint32_t want = 0;
  for (IoOp* w = st.head; w; w = w->next) want |= w->events;
  // Always told to the kernel, even when our last arming had the same events: that registration
  // may belong to a file closed since (see "fd reuse" in epoll_driver.hpp).
  epoll_event ev{};
  ev.events = want | EPOLLONESHOT;
  ev.data.fd = fd;
  int op = st.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bump(ctls_);
    if (::epoll_ctl(epfd_, op, fd, &ev) == 0) {
      st.registered = true;
      return 0;
    }
    // See "fd reuse" in epoll_driver.hpp: our idea of the registration may be stale.
    if (errno == ENOENT && op == EPOLL_CTL_MOD) {
      op = EPOLL_CTL_ADD;
    } else if (errno == EEXIST && op == EPOLL_CTL_ADD) {
      op = EPOLL_CTL_MOD;
    } else {
      break;
    }
  }
  return -errno;
}

int EpollDriver::add_waiter(IoOp& op) {
  if (op.fd < 0) return -EBADF;
  FdState& st = state(op.fd);
  op.epoch = g_close_epoch.load();
  op.prev = st.tail;
  op.next = nullptr;
  (st.tail ? st.tail->next : st.head) = &op;
  st.tail = &op;
  op.waiting = true;
  if (const int rc = arm(op.fd, st); rc < 0) {
    unlink(st, op);
    return rc;
  }
  count_waiting(+1);
  return 0;
}

void EpollDriver::unlink(FdState& st, IoOp& op) noexcept {
  (op.prev ? op.prev->next : st.head) = op.next;
  (op.next ? op.next->prev : st.tail) = op.prev;
  op.prev = op.next = nullptr;
  op.waiting = false;
}

void EpollDriver::complete(FdState& st, IoOp& op, int res, int refs) noexcept {
  unlink(st, op);
  count_waiting(-1);
  op.res = res;
  release_refs(op, refs);  // the last touch: the fiber may return at once
}

void EpollDriver::evict(int fd, std::uint64_t epoch) noexcept {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  FdState& st = fds_[static_cast<std::size_t>(fd)];
  for (IoOp* op = st.head; op;) {
    IoOp* next = op->next;
    if (op->epoch < epoch) complete(st, *op, -EBADF, 1);  // returned as is: a retry could hit a recycled fd
    op = next;
  }
  if (!st.head) st = FdState{};  // the kernel dropped the closed file's registration
}

void EpollDriver::cancel_local(IoOp& op) {
  if (!op.waiting) return release_refs(op, 1);  // completed already, or on the blocking pool
  complete(state(op.fd), op, -ECANCELED, 2);  // the waiter list's reference and the request's
}

void EpollDriver::dispatch(int timeout_ms, const timespec* timeout) {
  bump(waits_);
  int n;
  if (timeout && have_pwait2_) {
    n = ::epoll_pwait2(epfd_, events_.data(), static_cast<int>(events_.size()), timeout, nullptr);
    if (n < 0 && errno == ENOSYS) {  // before Linux 5.11: millisecond timeouts, rounded up
      have_pwait2_ = false;
      n = ::epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
    }
  } else {
    n = ::epoll_wait(epfd_, events_.data(), static_cast<int>(events_.size()), timeout_ms);
  }
  if (n < 0) {
    if (errno == EINTR) return;
    throw std::system_error(errno, std::system_category(), "weft: epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    const int fd = events_[static_cast<std::size_t>(i)].data.fd;
    const std::uint32_t revents = events_[static_cast<std::size_t>(i)].events;
    if (fd == wake_.fd()) {
      wake_.try_consume();
      continue;
    }
    if (static_cast<std::size_t>(fd) >= fds_.size()) continue;
    FdState& st = fds_[static_cast<std::size_t>(fd)];
    for (IoOp* op = st.head; op;) {
      IoOp* next = op->next;  // read first: a completed op may be gone at once
      if (revents & (op->events | kAlwaysReported)) {
        bump(readiness_);
        complete(st, *op, static_cast<int>(revents), 1);
      }
      op = next;
    }
    if (st.head) {
      if (const int rc = arm(fd, st); rc < 0) {
        // Cannot re-arm (the fd went away under its waiters): let them retry and see why.
        while (IoOp* op = st.head) complete(st, *op, static_cast<int>(EPOLLERR), 1);
      }
    }
  }
  if (static_cast<std::size_t>(n) == events_.size()) events_.resize(events_.size() * 2);
}

void EpollDriver::park(std::chrono::steady_clock::time_point deadline) {
  // A cancel carried out here may have queued its fiber on this worker: look, but do not sleep.
  if (drain_posted()) return dispatch(0, nullptr);
  if (deadline == std::chrono::steady_clock::time_point::max()) return dispatch(-1, nullptr);
  auto left = deadline - std::chrono::steady_clock::now();
  if (left < left.zero()) left = left.zero();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  const timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  const long long ms = (ns + 999'999) / 1'000'000;
  dispatch(ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms), &ts);
}

void EpollDriver::unpark() noexcept { wake_.notify(); }

void EpollDriver::poll() {
  drain_posted();
  if (waiting_.load(std::memory_order_relaxed) > 0) dispatch(0, nullptr);
}

EpollStats EpollDriver::stats() const noexcept {
  return EpollStats{waits_.load(std::memory_order_relaxed), ctls_.load(std::memory_order_relaxed),
                    readiness_.load(std::memory_order_relaxed), pool_ops_.load(std::memory_order_relaxed)};
}

sched::IoCounters EpollDriver::io_counters() const noexcept {
  const EpollStats s = stats();
  return sched::IoCounters{.epoll_waits = s.waits, .epoll_ctls = s.ctls, .pool_ops = s.pool_ops};
}

std::unique_ptr<sched::Driver> make_epoll_driver() { return std::make_unique<EpollDriver>(); }

EpollStats current_epoll_stats() noexcept {
  EpollDriver* d = current_epoll();
  return d ? d->stats() : EpollStats{};
}

}  // namespace weft::io
