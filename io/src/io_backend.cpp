// io_backend.cpp: what both backends share: posting cancel and close requests to the owner thread
// (the close protocol is argued in io_backend.hpp).
#include "io_backend.hpp"

#include <weft/sched/this_fiber.hpp>

#include <cerrno>
#include <thread>

namespace weft::io {

const char kUringKind = 0;
const char kEpollKind = 0;

namespace {
// Every live backend of the process (fd numbers are process-wide), for cancel_fd_everywhere.
std::mutex g_backends_mu;
std::vector<IoBackend*> g_backends;
thread_local IoBackend* t_owned_backend = nullptr;  // see owned_backend()
}  // namespace

IoBackend::IoBackend(const void* kind) : sched::Driver(kind) {
  {
    std::lock_guard lock(g_backends_mu);
    g_backends.push_back(this);
  }
  t_owned_backend = this;
}

IoBackend::~IoBackend() {
  if (t_owned_backend == this) t_owned_backend = nullptr;  // a worker's backend outlives its thread: no-op
  std::lock_guard lock(g_backends_mu);
  std::erase(g_backends, this);
}

IoBackend* owned_backend() noexcept {
  IoBackend* b = t_owned_backend;
  asm volatile("" : "+r"(b));  // no caching of the thread-local across calls
  return b;
}

IoBackend* current_backend() noexcept {
  sched::Driver* d = sched::current_driver();
  if (!d || (d->kind() != &kUringKind && d->kind() != &kEpollKind)) return nullptr;
  return static_cast<IoBackend*>(d);
}

void IoBackend::cancel(IoOp& op) {
  if (current_backend() == this) return cancel_local(op);
  {
    std::lock_guard lock(posted_mu_);
    posted_.push_back(&op);
  }
  // release pairs with drain_posted's acquire: the owner sees the request.
  has_posted_.store(true, std::memory_order_release);
  unpark();
}

bool IoBackend::post_close(CloseRequest& req) noexcept {
  try {
    std::lock_guard lock(posted_mu_);
    posted_closes_.push_back(&req);
  } catch (...) {
    return false;  // out of memory: this backend's ops on the fd are left to their deadlines
  }
  // release pairs with drain_posted's acquire: the owner sees the request.
  has_posted_.store(true, std::memory_order_release);
  unpark();
  return true;
}

void IoBackend::finish_close(CloseRequest& req) noexcept {
  // Cloned first: once `left` reaches 0 the closer may return, and its request with it.
  sched::Waker closer = req.closer.clone();
  // acq_rel pairs with cancel_fd_everywhere's acquire loads of `left`: what this owner did (its
  // cancel submitted, its waiters evicted) happens before the closer's close(2).
  if (req.left.fetch_sub(1, std::memory_order_acq_rel) == 1) closer.wake();
}

bool IoBackend::drain_posted() {
  if (!has_posted_.load(std::memory_order_acquire)) return false;
  std::vector<IoOp*> ops;
  std::vector<CloseRequest*> closes;
  {
    std::lock_guard lock(posted_mu_);
    ops.swap(posted_);
    closes.swap(posted_closes_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (IoOp* op : ops) cancel_local(*op);
  for (CloseRequest* req : closes) {
    close_local(req->fd);
    finish_close(*req);
  }
  return !ops.empty() || !closes.empty();
}

void cancel_fd_everywhere(int fd) noexcept {
  if (fd < 0) return;
  IoBackend* here = owned_backend();
  CloseRequest req;
  req.fd = fd;
  req.left.store(1, std::memory_order_relaxed);  // the closer's own, dropped once all are posted
  {
    std::lock_guard lock(g_backends_mu);
    for (IoBackend* b : g_backends) {
      if (b == here || b->in_flight() == 0) continue;  // nothing to end (an exited worker's too)
      if (!req.closer) req.closer = sched::Waker::current();  // before any owner may clone it
      req.left.fetch_add(1, std::memory_order_relaxed);
      if (!b->post_close(req)) req.left.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  if (here && here->in_flight() > 0) here->close_local(fd);  // the owner itself: at once
  // acq_rel/acquire pair with finish_close's acq_rel.
  if (req.left.fetch_sub(1, std::memory_order_acq_rel) == 1) return;
  const bool in_fiber = sched::current_task() != nullptr;
  while (req.left.load(std::memory_order_acquire) != 0) {
    if (here && !in_fiber) {
      // A worker outside its fibers cannot park: it serves the requests posted to it meanwhile.
      here->drain_posted();
      std::this_thread::yield();
    } else {
      sched::park();
    }
  }
}

}  // namespace weft::io
