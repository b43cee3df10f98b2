// blocking_pool.cpp: the BlockingPool on a oneTBB task_arena (see blocking_pool.hpp).
//
// TBB hands the job pointer to its thread through its own, uninstrumented queues, so under TSan the
// submitter's writes to the job would look unordered with run(); the explicit release/acquire
// annotations state the happens-before that TBB's queue provides.
#include <weft/sched/blocking_pool.hpp>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>

#if defined(WEFT_TSAN)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace weft::sched {

struct BlockingPool::Arena {
  explicit Arena(unsigned threads)
      : parallelism(tbb::global_control::max_allowed_parallelism,
                    std::max<std::size_t>(threads + 1,
                                          tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism))),
        arena(static_cast<int>(threads), /*reserved_for_masters=*/0) {}
  tbb::global_control parallelism;  // TBB's thread cap: at least our threads plus the caller
  tbb::task_arena arena;
};

BlockingPool::BlockingPool(unsigned threads) : threads_(threads ? threads : 1), arena_(std::make_unique<Arena>(threads_)) {}

BlockingPool::~BlockingPool() {
  // Wait for every job: the arena must not be torn down under a running job. The count changes
  // under the mutex, so the last finish_one() is done with `this` once it unlocks.
  std::unique_lock lock(mu_);
  all_done_.wait(lock, [&] { return completed_.load(std::memory_order_relaxed) == submitted_; });
}

namespace {
// RunJob: the functor TBB stores and runs. TBB copies it into its task object on the submitting
// thread and hands that object to a pool thread through its own, uninstrumented queue, so under TSan
// the pool thread's read of the functor's members would look unordered with their writes. The
// functor therefore releases its own address once constructed (in TBB's task object) and acquires
// it before reading its members: the happens-before TBB's queue really provides, stated where TSan
// sees it. (Annotating only the job misses the functor: it races as soon as the pool's threads exist
// before a submit, i.e. on every submit after the first few.)
// Recycled: RunJob's first base, so its constructor runs before RunJob's members are written:
// it acquires what the previous RunJob at this recycled address released after its last read.
struct Recycled {
  Recycled() noexcept {
#if defined(WEFT_TSAN)
    __tsan_acquire(this);
#endif
  }
};
struct RunJob : Recycled {
  BlockingPool* pool;
  BlockingJob* job;
  void (*finish)(BlockingPool*) noexcept;
  RunJob(BlockingPool* p, BlockingJob* j, void (*f)(BlockingPool*) noexcept) noexcept : pool(p), job(j), finish(f) {
    publish();
  }
  RunJob(const RunJob& o) noexcept : Recycled(), pool(o.pool), job(o.job), finish(o.finish) { publish(); }
  RunJob(RunJob&& o) noexcept : Recycled(), pool(o.pool), job(o.job), finish(o.finish) { publish(); }
  void publish() noexcept {
#if defined(WEFT_TSAN)
    __tsan_release(this);
#endif
  }
  void operator()() const noexcept {
#if defined(WEFT_TSAN)
    __tsan_acquire(const_cast<RunJob*>(this));
#endif
    BlockingPool* const p = pool;
    BlockingJob* const j = job;
    void (*const f)(BlockingPool*) noexcept = finish;
#if defined(WEFT_TSAN)
    // TBB recycles this task object's memory for a later submit's RunJob through its own pool;
    // release after the last read of our members so that later construction is ordered after it
    // (the constructors acquire the address first, see Recycled).
    __tsan_release(const_cast<RunJob*>(this));
#endif
    j->run();
    f(p);
  }
};
}  // namespace

void BlockingPool::submit(BlockingJob& job) {
  {
    std::lock_guard lock(mu_);
    ++submitted_;
  }
  // The functor's release comes after everything the submitter wrote to the job, so its acquire
  // covers the job too.
  arena_->arena.enqueue(RunJob(this, &job, [](BlockingPool* p) noexcept { p->finish_one(); }));
}

void BlockingPool::finish_one() noexcept {
  std::lock_guard lock(mu_);
  completed_.fetch_add(1, std::memory_order_relaxed);
  all_done_.notify_all();
}

}  // namespace weft::sched
