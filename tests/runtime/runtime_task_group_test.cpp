// TaskGroup: join waits for every child, the first failure cancels the siblings and is rethrown,
// the destructor never leaves a child running, and cancelling the owner cancels the children.
#include "support/test_support.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>

namespace weft {
namespace {

using namespace std::chrono_literals;

class RuntimeTaskGroup : public test::WorkerCountTest {};

// sleep_until_cancelled: a child's body that blocks for a long but bounded time; counts whether the
// sleep ended by cancellation (so a broken cancellation shows as a wrong count, not a hang).
void sleep_until_cancelled(std::atomic<int>& started, std::atomic<int>& cancelled) {
  started.fetch_add(1);
  auto r = sleep_for(30s);
  if (!r && r.error() == errc::cancelled) cancelled.fetch_add(1);
}

TEST_P(RuntimeTaskGroup, JoinWaitsForEveryChild) {
  Runtime rt{config()};
  const int n = static_cast<int>(test::scaled(1000));
  std::atomic<int> done{0};
  TaskGroup g(rt);
  for (int i = 0; i < n; ++i) {
    g.spawn([&] {
      (void)sleep_for(1ms);
      done.fetch_add(1);
    });
  }
  g.join();
  EXPECT_EQ(done.load(), n);
  EXPECT_EQ(g.live(), 0u);
}

TEST_P(RuntimeTaskGroup, FirstFailureCancelsSiblingsAndJoinRethrowsIt) {
  Runtime rt{config()};
  const int n = 8;
  std::atomic<int> started{0}, cancelled{0};
  auto what = rt.block_on([&]() -> std::string {
    TaskGroup g;
    for (int i = 0; i < n; ++i) {
      if (i % 2) {
        g.spawn([&] { sleep_until_cancelled(started, cancelled); });
      } else {
        // These throw their errc::cancelled: after the failure that is not a failure of its own.
        g.spawn([&] {
          started.fetch_add(1);
          sleep_for(30s).value();
        });
      }
    }
    g.spawn([&] {
      while (started.load() < n) (void)sleep_for(1ms);
      throw std::runtime_error("boom");
    });
    try {
      g.join();
      return "no exception";
    } catch (const std::runtime_error& e) {
      return e.what();
    }
  });
  EXPECT_EQ(what, "boom");
  EXPECT_EQ(cancelled.load(), n / 2);
}

TEST_P(RuntimeTaskGroup, DestructorWaitsForChildren) {
  Runtime rt{config()};
  const int n = 16;
  std::atomic<int> done{0};
  {
    TaskGroup g(rt);
    for (int i = 0; i < n; ++i) {
      g.spawn([&] {
        (void)sleep_for(5ms);
        done.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(done.load(), n);
}

TEST_P(RuntimeTaskGroup, DestructorReportsAnUnjoinedFailure) {
  Runtime rt{config()};
  testing::internal::CaptureStderr();
  {
    TaskGroup g(rt);
    g.spawn([] { throw std::runtime_error("lost child error"); });
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("TaskGroup destroyed without join()"), std::string::npos) << err;
  EXPECT_NE(err.find("lost child error"), std::string::npos) << err;
}

TEST_P(RuntimeTaskGroup, LeavingByExceptionCancelsChildrenFirst) {
  Runtime rt{config()};
  std::atomic<int> started{0}, cancelled{0};
  try {
    TaskGroup g(rt);
    for (int i = 0; i < 4; ++i) g.spawn([&] { sleep_until_cancelled(started, cancelled); });
    ASSERT_TRUE(test::eventually([&] { return started.load() == 4; }));
    throw std::runtime_error("owner failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(cancelled.load(), 4);
}

TEST_P(RuntimeTaskGroup, CancellingTheOwnerCancelsTheChildren) {
  Runtime rt{config()};
  std::atomic<int> started{0}, cancelled{0}, grandchildren_cancelled{0};
  auto owner = rt.spawn([&] {
    TaskGroup g;
    for (int i = 0; i < 4; ++i) g.spawn([&] { sleep_until_cancelled(started, cancelled); });
    g.spawn([&] {  // a nested group: cancellation reaches its children too
      TaskGroup inner;
      for (int i = 0; i < 2; ++i) inner.spawn([&] { sleep_until_cancelled(started, grandchildren_cancelled); });
      inner.join();
    });
    g.join();
  });
  ASSERT_TRUE(test::eventually([&] { return started.load() == 6; }));
  owner.cancel();
  try {
    owner.join();
    ADD_FAILURE() << "the owner's join() should report its cancellation";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::cancelled);
  }
  EXPECT_EQ(cancelled.load(), 4);
  EXPECT_EQ(grandchildren_cancelled.load(), 2);
}

TEST_P(RuntimeTaskGroup, ParentTokenAndExplicitCancel) {
  Runtime rt{config()};
  CancellationSource stop;
  std::atomic<int> started{0}, cancelled{0};
  TaskGroup g(rt, stop.token());
  for (int i = 0; i < 4; ++i) g.spawn([&] { sleep_until_cancelled(started, cancelled); });
  ASSERT_TRUE(test::eventually([&] { return started.load() == 4; }));
  stop.cancel();
  g.join();  // children ended by the group's cancellation: not failures, and main was not cancelled
  EXPECT_EQ(cancelled.load(), 4);
  EXPECT_TRUE(g.cancelled());

  std::atomic<bool> ran{false};
  g.spawn([&] { ran.store(true); });  // a cancelled group runs nothing more
  g.join();
  EXPECT_FALSE(ran.load());
}

TEST_P(RuntimeTaskGroup, CancelStopsChildrenAndJoinReturnsNormally) {
  Runtime rt{config()};
  std::atomic<int> started{0}, cancelled{0};
  TaskGroup g(rt);
  for (int i = 0; i < 4; ++i) g.spawn([&] { sleep_until_cancelled(started, cancelled); });
  ASSERT_TRUE(test::eventually([&] { return started.load() == 4; }));
  g.cancel();
  g.join();
  EXPECT_EQ(cancelled.load(), 4);
}

TEST_P(RuntimeTaskGroup, ChildrenMaySpawnIntoTheirGroup) {
  Runtime rt{config()};
  std::atomic<int> done{0};
  TaskGroup g(rt);
  g.spawn([&] {
    for (int i = 0; i < 10; ++i) {
      g.spawn([&] {
        (void)sleep_for(1ms);
        done.fetch_add(1);
      });
    }
  });
  g.join();
  EXPECT_EQ(done.load(), 10);
}

TEST_P(RuntimeTaskGroup, ShutdownBeforeChildrenStartIsAFailure) {
  Runtime rt{config()};
  rt.shutdown();
  TaskGroup g(rt);
  g.spawn([] {});
  try {
    g.join();
    ADD_FAILURE() << "a child that never ran because of shutdown must be reported";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::cancelled);
  }
}

INSTANTIATE_WORKER_COUNTS(RuntimeTaskGroup);

TEST(RuntimeTaskGroupMisuse, DefaultConstructorNeedsAFiberAndTokensAreTheGroups) {
  EXPECT_THROW(TaskGroup{}, std::logic_error);
  Runtime rt{Config{.workers = 1}};
  TaskGroup g(rt);
  CancellationSource other;
  EXPECT_THROW(g.spawn(SpawnOptions{.token = other.token()}, [] {}), std::logic_error);
  g.join();
}

}  // namespace
}  // namespace weft
