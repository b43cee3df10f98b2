// EventSource: counting notify/wait on an eventfd, across threads.
#include <weft/sched/event_source.hpp>

#include <gtest/gtest.h>

#include <poll.h>

#include <thread>

namespace weft::sched {
namespace {

TEST(SchedEventSource, CountsAccumulateAndAreTakenWhole) {
  EventSource ev;
  EXPECT_EQ(ev.try_consume(), 0u);
  ev.notify();
  ev.notify(4);
  EXPECT_EQ(ev.try_consume(), 5u);
  EXPECT_EQ(ev.try_consume(), 0u);
}

TEST(SchedEventSource, FdIsReadableOnlyWhilePending) {
  EventSource ev;
  pollfd p{ev.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  ev.notify();
  EXPECT_EQ(::poll(&p, 1, 0), 1);
  EXPECT_EQ(ev.wait(), 1u);
  EXPECT_EQ(::poll(&p, 1, 0), 0);
}

TEST(SchedEventSource, WaitBlocksUntilAnotherThreadNotifies) {
  EventSource ev;
  std::thread t([&] { ev.notify(3); });
  EXPECT_GE(ev.wait(), 1u);
  t.join();
}

TEST(SchedEventSource, NoNotifyLostUnderConcurrency) {
  EventSource ev;
  constexpr int kPerThread = 10000;
  std::thread a([&] {
    for (int i = 0; i < kPerThread; ++i) ev.notify();
  });
  std::thread b([&] {
    for (int i = 0; i < kPerThread; ++i) ev.notify();
  });
  std::uint64_t total = 0;
  while (total < 2 * kPerThread) total += ev.wait();
  a.join();
  b.join();
  EXPECT_EQ(total + ev.try_consume(), 2u * kPerThread);
}

}  // namespace
}  // namespace weft::sched
