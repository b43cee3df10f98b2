// weft/sched/blocking_pool.hpp: threads for work that would block a worker.
//
// Some work cannot be made asynchronous: a library call that blocks, CPU-heavy code that would stall
// the fibers queued behind it, or (on the epoll backend) file operations, which epoll cannot wait
// for. Each Scheduler owns one BlockingPool: a oneTBB task_arena whose threads run BlockingJobs. The
// submitter keeps the job alive until its run() has returned (a fiber parks on it, see
// weft::spawn_blocking and the epoll backend), so the pool never allocates per job beyond TBB's
// own task, and a job's completion wakes the fiber through its worker's inbox like any remote wake.
//
// Threads: created by TBB on first use, `threads` at most; oneTBB caps all arenas of the process by
// its global max_allowed_parallelism, which the pool raises to fit (a smaller tbb::global_control of
// the application's own would shrink the pool).
// Shutdown: the destructor waits until every submitted job has returned.
//
// Thread-safety: submit() from any thread; run() is called exactly once, on a pool thread.
//
//   struct Job final : weft::sched::BlockingJob { void run() noexcept override { ... } } job;
//   weft::sched::Scheduler::current()->blocking_pool().submit(job);
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

namespace weft::sched {

// BlockingJob: one unit of blocking work; run() must not throw (capture exceptions yourself).
class BlockingJob {
 public:
  virtual void run() noexcept = 0;

 protected:
  ~BlockingJob() = default;
};

// BlockingPool: see the file comment.
class BlockingPool {
 public:
  // BlockingPool: a pool of at most `threads` (>= 1) threads; none are started yet.
  explicit BlockingPool(unsigned threads);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // submit: queues job.run() on a pool thread and returns at once. `job` must stay alive until
  // its run() returned. Throws std::bad_alloc only.
  void submit(BlockingJob& job);

  unsigned threads() const noexcept { return threads_; }
  // completed: jobs that have returned (a monotonic counter, for metrics).
  std::uint64_t completed() const noexcept { return completed_.load(std::memory_order_relaxed); }

 private:
  struct Arena;
  void finish_one() noexcept;

  unsigned threads_;
  std::unique_ptr<Arena> arena_;
  std::mutex mu_;
  std::condition_variable all_done_;
  std::uint64_t submitted_ = 0;                // under mu_
  std::atomic<std::uint64_t> completed_{0};    // written under mu_, read anywhere
};

}  // namespace weft::sched
