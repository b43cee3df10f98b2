// io_backend.cpp: what both backends share: posting cancel and close requests to the owner thread
// (the close protocol is argued in io_op.hpp), and waiting for an op's final completion
// (op_wait.hpp).
#include "io_op.hpp"
#include "op_wait.hpp"

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

bool request_cancel(IoOp& op) {
  // Only while a reference is still held: an op whose count reached zero is done (or about to be),
  // and a request taken on it then would outlive it.
  int p = op.pending.load(std::memory_order_acquire);
  while (p > 0) {
    if (op.pending.compare_exchange_weak(p, p + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      op.cancel_sent = true;
      op.backend->cancel(op);
      return true;
    }
  }
  return false;
}

void settle_select(IoOp& op) noexcept {
  // The select's frame (and this op in it) may go once `done` is seen: take the Waker out first,
  // claim, publish, then wake through our own handle (sched/select_branch.hpp, settled()).
  sched::Waker w = std::move(op.select_waker);
  op.select->try_claim(op.select_index);
  op.done.store(true, std::memory_order_release);  // pairs with IoBranch::settled's acquire
  w.wake();
}

void wait_for_completion(std::span<IoOp> ops, sched::Task* self, Clock::time_point deadline) {
  bool cancel_sent = false;
  for (;;) {
    bool all_done = true, settling = false;
    for (const IoOp& op : ops) {
      // acquire pairs with release_refs' release of `done`: res and timed_out are visible.
      if (op.done.load(std::memory_order_acquire)) continue;
      all_done = false;
      if (op.pending.load(std::memory_order_acquire) == 0) settling = true;
    }
    if (all_done) return;
    if (settling) {
      this_fiber::yield();  // a releaser is between its last decrement and `done`
      continue;
    }
    if (!cancel_sent && self->cancel_requested()) {
      cancel_sent = true;
      for (IoOp& op : ops) request_cancel(op);
    }
    if (cancel_sent || deadline == Clock::time_point::max()) {
      sched::park();
    } else if (!sched::park_until(deadline)) {
      // The deadline passed (epoll: the fiber keeps its own deadlines, on its worker's timers).
      cancel_sent = true;
      for (IoOp& op : ops) {
        // Marked first: the owner may complete the cancel at once; only this fiber reads it.
        if (op.pending.load(std::memory_order_acquire) != 0) op.timed_out = true;
        request_cancel(op);
      }
    }
  }
}

Result<int> op_result(const IoOp& op, bool cancelled_by_chain) {
  if (op.res >= 0) return op.res;
  if (op.res == -ECANCELED && op.timed_out) return fail(std::errc::timed_out);
  if (op.res == -ECANCELED && (op.cancel_sent || cancelled_by_chain)) return fail(errc::cancelled);
  // Cancelled, but neither by its fiber nor its deadline: its fd was closed (io_op.hpp, "Closing
  // an fd"), reported as epoll reports it.
  if (op.res == -ECANCELED) return fail(std::error_code(EBADF, std::system_category()));
  return fail(std::error_code(-op.res, std::system_category()));
}

}  // namespace weft::io
