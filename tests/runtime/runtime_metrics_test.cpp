// Runtime::metrics(): the counters summed over workers move as the work done says they must, for
// the backend the runtime runs (this suite runs once with WEFT_BACKEND=io_uring, once with epoll),
// and they can be read from another thread while the workers write them.
#include "support/test_support.hpp"

#include <weft/weft.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

constexpr int kChildren = 100;
constexpr int kReads = 16;

// do_io: a file written and read back in kReads reads, and a pipe read that has to wait for data
// (a writer fiber sleeps first), so epoll must arm a readiness wait and io_uring must wait a CQE.
void do_io() {
  char path[] = "/tmp/weft_metrics_XXXXXX";
  const int tmp = ::mkstemp(path);
  ASSERT_GE(tmp, 0);
  ::close(tmp);
  auto f = io::File::open(path, O_RDWR).value();
  ::unlink(path);
  std::vector<std::byte> data(4096 * kReads, std::byte{7});
  f.write_all_at(data, 0).value();
  std::vector<std::byte> buf(4096);
  for (int i = 0; i < kReads; ++i) {
    ASSERT_EQ(f.read_at(buf, static_cast<std::uint64_t>(i) * buf.size()).value(), buf.size());
  }

  auto [rd, wr] = io::Pipe::create().value();
  auto writer = spawn([w = std::move(wr)]() mutable {
    sleep_for(20ms).value();
    w.write_all(std::as_bytes(std::span("ping", 4))).value();
  });
  std::byte got[4];
  ASSERT_EQ(rd.read(got).value(), 4u);
  writer.join();
}

TEST(RuntimeMetrics, CountersMoveForTheBackendInUse) {
  Runtime rt{Config{.workers = 2}};
  const Metrics before = rt.metrics();
  EXPECT_EQ(before.workers, 2u);
  ASSERT_TRUE(rt.backend() == Backend::io_uring || rt.backend() == Backend::epoll);
  EXPECT_EQ(before.backend, rt.backend());

  // A reader on another thread while the workers write the counters: each sum only grows.
  std::atomic<bool> stop{false};
  std::atomic<bool> monotonic{true};
  std::thread reader([&] {
    Metrics last = rt.metrics();
    while (!stop.load(std::memory_order_relaxed)) {
      const Metrics now = rt.metrics();
      if (now.resumes < last.resumes || now.tasks_started < last.tasks_started || now.io_ops() < last.io_ops() ||
          now.io_syscalls() < last.io_syscalls() || now.cqes_reaped < last.cqes_reaped)
        monotonic.store(false);
      last = now;
    }
  });

  rt.block_on([] {
    std::vector<JoinHandle<int>> children;
    for (int i = 0; i < kChildren; ++i) children.push_back(spawn([i] { return i; }));
    for (auto& c : children) c.join();
    do_io();
  });
  // A task's result is published before its worker counts it finished: wait for the counts.
  const std::uint64_t tasks = kChildren + 2;  // the children, the block_on task, the pipe writer
  EXPECT_TRUE(test::eventually([&] { return rt.metrics().tasks_finished - before.tasks_finished >= tasks; }));
  stop.store(true);
  reader.join();
  EXPECT_TRUE(monotonic.load()) << "a counter went backwards between two snapshots";

  const Metrics d = rt.metrics() - before;
  EXPECT_GE(d.tasks_started, tasks);
  EXPECT_GE(d.tasks_finished, tasks);
  EXPECT_GE(d.tasks_started, d.tasks_finished);
  EXPECT_GE(d.resumes, d.tasks_started + 2);  // the block_on task and the writer both suspended
  EXPECT_GE(d.parks, 1u);                     // the pipe read left nothing to run for 20 ms

  if (rt.backend() == Backend::io_uring) {
    // open + write + kReads reads + pipe read + pipe write, at least (the sleep is a timer).
    EXPECT_GE(d.sqes_submitted, static_cast<std::uint64_t>(kReads + 4));
    EXPECT_GE(d.uring_enters, 1u);
    // Every SQE completes: only the wake-up read each worker keeps pending may be outstanding.
    EXPECT_GE(d.cqes_reaped + rt.workers(), d.sqes_submitted);
    EXPECT_EQ(d.epoll_waits + d.epoll_ctls + d.pool_ops, 0u);
  } else {
    // openat cannot be polled: it ran on the blocking pool (the file's reads and writes may
    // have completed directly, with RWF_NOWAIT on cached pages).
    EXPECT_GE(d.pool_ops, 1u);
    EXPECT_GE(d.epoll_ctls, 1u);  // the empty pipe armed a readiness wait
    EXPECT_GE(d.epoll_waits, 1u);
    EXPECT_EQ(d.sqes_submitted + d.uring_enters + d.cqes_reaped, 0u);
  }
  EXPECT_GT(d.io_syscalls(), 0u);
  EXPECT_GT(d.syscalls_per_op(), 0.0);
}

TEST(RuntimeMetrics, SubtractionOfASnapshotFromItselfIsZero) {
  Runtime rt{Config{.workers = 1}};
  rt.block_on([] { do_io(); });
  const Metrics m = rt.metrics();
  EXPECT_GT(m.io_ops(), 0u);
  const Metrics z = m - m;
  EXPECT_EQ(z.tasks_started + z.resumes + z.io_ops() + z.io_syscalls() + z.cqes_reaped, 0u);
  EXPECT_EQ(z.syscalls_per_op(), 0.0);
  EXPECT_EQ(z.workers, 1u);
}

}  // namespace
}  // namespace weft
