// WaitQueue: FIFO order, notify_one/notify_all, grants, timeouts and cancellation that remove the
// waiter (and run the primitive's repair), and "notified wins" when a notify races with a timeout.
#include "sync/sync_test_util.hpp"

#include <weft/sync/wait_queue.hpp>

#include <atomic>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;
using sync::Clock;
using sync::WaitQueue;
using sync::Waiter;
using sync::WaitStatus;
using sync::WakeList;

class SyncWaitQueue : public test::WorkerCountTest {};

// wait_on: queues a waiter (request = id) and waits; returns its status and grant.
std::pair<WaitStatus, std::uintptr_t> wait_on(WaitQueue& q, std::uintptr_t id,
                                              Clock::time_point deadline = Clock::time_point::max()) {
  Waiter w;
  w.request = id;
  {
    auto g = q.lock();
    q.push_back(g, w);
  }
  auto s = q.wait(w, deadline);
  return {s, w.grant};
}

TEST_P(SyncWaitQueue, NotifyOneServesInFifoOrderWithGrants) {
  Runtime rt{config()};
  WaitQueue q;
  std::vector<JoinHandle<std::pair<WaitStatus, std::uintptr_t>>> hs;
  for (std::uintptr_t i = 0; i < 4; ++i) {
    hs.push_back(rt.spawn([&q, i] { return wait_on(q, i); }));
    ASSERT_TRUE(test::waiters_reach(q, i + 1));
  }
  std::pair<WaitStatus, std::uintptr_t> thread_result;
  std::thread t([&] { thread_result = wait_on(q, 4); });
  ASSERT_TRUE(test::waiters_reach(q, 5));
  for (std::uintptr_t i = 0; i < 5; ++i) {
    WakeList wakes;
    auto g = q.lock();
    Waiter* front = q.front(g);
    ASSERT_NE(front, nullptr);
    EXPECT_EQ(front->request, i);  // FIFO: fibers and the thread in arrival order
    q.notify(g, *front, 100 + i, wakes);
  }
  for (std::uintptr_t i = 0; i < 4; ++i) {
    auto [s, grant] = hs[i].join();
    EXPECT_EQ(s, WaitStatus::notified);
    EXPECT_EQ(grant, 100 + i);
  }
  t.join();
  EXPECT_EQ(thread_result.first, WaitStatus::notified);
  EXPECT_EQ(thread_result.second, 104u);
  EXPECT_EQ(q.waiters(), 0u);
}

TEST_P(SyncWaitQueue, NotifyAllWakesEveryoneAndNotifyOneOnEmptyIsFalse) {
  Runtime rt{config()};
  WaitQueue q;
  {
    WakeList wakes;
    auto g = q.lock();
    EXPECT_FALSE(q.notify_one(g, 0, wakes));
    EXPECT_EQ(q.notify_all(g, 0, wakes), 0u);
  }
  const std::size_t n = 40;  // more than WakeList::kInline: the overflow path wakes at once
  std::vector<JoinHandle<std::pair<WaitStatus, std::uintptr_t>>> hs;
  for (std::size_t i = 0; i < n; ++i) hs.push_back(rt.spawn([&q, i] { return wait_on(q, i); }));
  ASSERT_TRUE(test::waiters_reach(q, n));
  {
    WakeList wakes;
    auto g = q.lock();
    EXPECT_EQ(q.notify_all(g, 7, wakes), n);
    EXPECT_TRUE(q.empty(g));
  }
  for (auto& h : hs) EXPECT_EQ(h.join(), std::make_pair(WaitStatus::notified, std::uintptr_t{7}));
}

TEST_P(SyncWaitQueue, TimeoutAndCancellationRemoveTheWaiterAndRunTheRepair) {
  Runtime rt{config()};
  WaitQueue q;
  int repairs = 0;  // under the queue lock
  auto waiter = [&](Clock::time_point deadline) {
    Waiter w;
    {
      auto g = q.lock();
      q.push_back(g, w);
    }
    return q.wait(w, deadline, true, [&](const WaitQueue::Guard&) { ++repairs; });
  };
  EXPECT_EQ(rt.block_on([&] { return waiter(Clock::now() + 2ms); }), WaitStatus::timed_out);
  EXPECT_EQ(waiter(Clock::now() + 2ms), WaitStatus::timed_out);  // plain thread
  auto c = rt.spawn([&] { return waiter(Clock::time_point::max()); });
  ASSERT_TRUE(test::waiters_reach(q, 1));
  c.cancel();
  EXPECT_EQ(c.join(), WaitStatus::cancelled);
  {
    auto g = q.lock();
    EXPECT_EQ(repairs, 3);
    EXPECT_TRUE(q.empty(g));
  }
  // A non-cancellable wait ignores cancellation: only the notify ends it.
  std::atomic<bool> queued{false};
  auto nc = rt.spawn([&] {
    Waiter w;
    {
      auto g = q.lock();
      q.push_back(g, w);
    }
    queued = true;
    return q.wait(w, Clock::time_point::max(), false);
  });
  ASSERT_TRUE(test::waiters_reach(q, 1));
  nc.cancel();
  std::this_thread::sleep_for(2ms);  // give the cancellation a chance to (wrongly) end the wait
  EXPECT_EQ(q.waiters(), 1u);
  {
    WakeList wakes;
    auto g = q.lock();
    q.notify_one(g, 0, wakes);
  }
  EXPECT_EQ(nc.join(), WaitStatus::notified);
}

TEST_P(SyncWaitQueue, NotifyRacingWithTimeoutIsNeverLost) {
  Runtime rt{config()};
  WaitQueue q;
  const int rounds = static_cast<int>(test::scaled(2'000));
  std::atomic<long> notified_seen{0};
  long notifies_sent = 0;
  auto h = rt.spawn([&] {
    for (int i = 0; i < rounds; ++i) {
      auto [s, grant] = wait_on(q, 0, Clock::now() + std::chrono::microseconds(i % 20));
      if (s == WaitStatus::notified) notified_seen.fetch_add(static_cast<long>(grant));
    }
  });
  while (!h.is_finished()) {
    WakeList wakes;
    auto g = q.lock();
    if (q.notify_one(g, 1, wakes)) ++notifies_sent;
  }
  h.join();
  // Every waiter the notifier dequeued saw its grant, even when its deadline passed meanwhile.
  EXPECT_EQ(notified_seen.load(), notifies_sent);
}

INSTANTIATE_WORKER_COUNTS(SyncWaitQueue);

}  // namespace
}  // namespace weft
