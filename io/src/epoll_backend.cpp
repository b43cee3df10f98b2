// epoll_backend.cpp: the worker side of the epoll backend (protocol in epoll_backend.hpp).
#include "epoll_backend.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace weft::io {
namespace {
constexpr std::uint32_t kAlwaysReported = EPOLLERR | EPOLLHUP;

}  // namespace

EpollBackend::EpollBackend() : IoBackend(&kEpollKind), events_(256) {
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
}

EpollBackend::~EpollBackend() { ::close(epfd_); }

EpollBackend::FdState& EpollBackend::state(int fd) {
  if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) + 64);
  return fds_[static_cast<std::size_t>(fd)];
}

int EpollBackend::arm(int fd, FdState& st) {
  std::uint32_t want = 0;
  for (IoOp* w = st.head; w; w = w->next) want |= w->events;
  // Always told to the kernel, even when our last arming had the same events: that registration
  // may belong to a file closed since (see "fd reuse" in epoll_backend.hpp).
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
    // See "fd reuse" in epoll_backend.hpp: our idea of the registration may be stale.
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

int EpollBackend::add_waiter(IoOp& op) {
  if (op.fd < 0) return -EBADF;
  FdState& st = state(op.fd);
  op.prev = st.tail;
  op.next = nullptr;
  (st.tail ? st.tail->next : st.head) = &op;
  st.tail = &op;
  op.waiting = true;
  add_in_flight(+1);  // before arming: a closer that sees the fd armed sees the waiter
  if (const int rc = arm(op.fd, st); rc < 0) {
    unlink(st, op);
    add_in_flight(-1);
    return rc;
  }
  return 0;
}

void EpollBackend::unlink(FdState& st, IoOp& op) noexcept {
  (op.prev ? op.prev->next : st.head) = op.next;
  (op.next ? op.next->prev : st.tail) = op.prev;
  op.prev = op.next = nullptr;
  op.waiting = false;
}

void EpollBackend::complete(FdState& st, IoOp& op, int res, int refs) noexcept {
  unlink(st, op);
  add_in_flight(-1);
  op.res = res;
  release_refs(op, refs);  // the last touch: the fiber may return at once
}

void EpollBackend::close_local(int fd) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  FdState& st = fds_[static_cast<std::size_t>(fd)];
  // Returned as is: a retry could hit a recycled fd number.
  while (IoOp* op = st.head) complete(st, *op, -EBADF, 1);
  st = FdState{};  // the kernel drops the closed file's registration
}

void EpollBackend::cancel_local(IoOp& op) {
  if (!op.waiting) return release_refs(op, 1);  // completed already, or on the blocking pool
  complete(state(op.fd), op, -ECANCELED, 2);  // the waiter list's reference and the request's
}

void EpollBackend::dispatch(int timeout_ms, const timespec* timeout) {
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

void EpollBackend::park(std::chrono::steady_clock::time_point deadline) {
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

void EpollBackend::unpark() noexcept { wake_.notify(); }

void EpollBackend::poll() {
  drain_posted();
  if (in_flight() > 0) dispatch(0, nullptr);
}

EpollStats EpollBackend::stats() const noexcept {
  return EpollStats{waits_.load(std::memory_order_relaxed), ctls_.load(std::memory_order_relaxed),
                    readiness_.load(std::memory_order_relaxed), pool_ops_.load(std::memory_order_relaxed)};
}

sched::IoCounters EpollBackend::io_counters() const noexcept {
  const EpollStats s = stats();
  return sched::IoCounters{.epoll_waits = s.waits, .epoll_ctls = s.ctls, .pool_ops = s.pool_ops};
}

std::unique_ptr<sched::Driver> make_epoll_driver() { return std::make_unique<EpollBackend>(); }

EpollStats current_epoll_stats() noexcept {
  EpollBackend* d = current_epoll();
  return d ? d->stats() : EpollStats{};
}

}  // namespace weft::io
