// epoll_backend.cpp: the worker side of the epoll backend: waiter lists, arming, epoll_wait
// (protocol in epoll_backend.hpp).
#include "epoll_backend.hpp"

#include <weft/sched/timespec.hpp>

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
  for (EpollWaiter* w = st.head; w; w = w->next) want |= w->events;
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

int EpollBackend::add_waiter(EpollWaiter& w) {
  if (w.fd < 0) return -EBADF;
  FdState& st = state(w.fd);
  w.prev = st.tail;
  w.next = nullptr;
  (st.tail ? st.tail->next : st.head) = &w;
  st.tail = &w;
  w.linked = true;
  w.op->backend_state = &w;  // a cancel finds the waiter through its op
  add_in_flight(+1);  // before arming: a closer that sees the fd armed sees the waiter
  if (const int rc = arm(w.fd, st); rc < 0) {
    unlink(st, w);
    w.op->backend_state = nullptr;
    add_in_flight(-1);
    return rc;
  }
  return 0;
}

void EpollBackend::unlink(FdState& st, EpollWaiter& w) noexcept {
  (w.prev ? w.prev->next : st.head) = w.next;
  (w.next ? w.next->prev : st.tail) = w.prev;
  w.prev = w.next = nullptr;
  w.linked = false;
}

void EpollBackend::complete(FdState& st, EpollWaiter& w, int res, int refs) noexcept {
  unlink(st, w);
  add_in_flight(-1);
  IoOp& op = *w.op;
  op.res = res;
  release_refs(op, refs);  // the last touch: the fiber may return at once (with the waiter)
}

void EpollBackend::close_local(int fd) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
  FdState& st = fds_[static_cast<std::size_t>(fd)];
  // Returned as is: a retry could hit a recycled fd number.
  while (EpollWaiter* w = st.head) complete(st, *w, -EBADF, 1);
  st = FdState{};  // the kernel drops the closed file's registration
}

void EpollBackend::cancel_local(IoOp& op) {
  auto* w = static_cast<EpollWaiter*>(op.backend_state);
  if (!w || !w->linked) return release_refs(op, 1);  // completed already, or on the blocking pool
  complete(state(w->fd), *w, -ECANCELED, 2);  // the waiter list's reference and the request's
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
    for (EpollWaiter* w = st.head; w;) {
      EpollWaiter* next = w->next;  // read first: a completed waiter may be gone at once
      if (revents & (w->events | kAlwaysReported)) {
        bump(readiness_);
        complete(st, *w, static_cast<int>(revents), 1);
      }
      w = next;
    }
    if (st.head) {
      if (const int rc = arm(fd, st); rc < 0) {
        // Cannot re-arm (the fd went away under its waiters): let them retry and see why.
        while (EpollWaiter* w = st.head) complete(st, *w, static_cast<int>(EPOLLERR), 1);
      }
    }
  }
  if (static_cast<std::size_t>(n) == events_.size()) events_.resize(events_.size() * 2);
}

void EpollBackend::park(std::chrono::steady_clock::time_point deadline) {
  // A cancel carried out here may have queued its fiber on this worker: look, but do not sleep.
  if (drain_posted()) return dispatch(0, nullptr);
  if (deadline == std::chrono::steady_clock::time_point::max()) return dispatch(-1, nullptr);
  const auto ts = sched::timespec_until<timespec>(deadline);
  const long long ms = ts.tv_sec * 1000LL + (ts.tv_nsec + 999'999) / 1'000'000;  // epoll_wait's, rounded up
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
