// OnceFlag/call_once and OnceCell: one run among racing fibers and threads, an initializer that
// throws is retried, set(), and cancellation while waiting for another caller's initializer.
#include "sync/sync_test_util.hpp"

#include <weft/sync/event.hpp>
#include <weft/sync/once.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

class SyncOnce : public test::WorkerCountTest {};

TEST_P(SyncOnce, GetOrInitRunsOnceAmongFibersAndThreads) {
  Runtime rt{config()};
  OnceCell<std::string> cell;
  EXPECT_EQ(cell.get(), nullptr);
  std::atomic<int> runs{0};
  auto body = [&] {
    const std::string& v = cell.get_or_init([&] {
      runs.fetch_add(1);
      (void)sleep_for(2ms);  // others arrive while it runs and must wait
      return std::string("value");
    });
    return v == "value";
  };
  std::vector<JoinHandle<bool>> hs;
  for (int i = 0; i < 16; ++i) hs.push_back(rt.spawn(body));
  bool thread_ok = false;
  std::thread t([&] { thread_ok = body(); });
  for (auto& h : hs) EXPECT_TRUE(h.join());
  t.join();
  EXPECT_TRUE(thread_ok);
  EXPECT_EQ(runs.load(), 1);
  ASSERT_NE(cell.get(), nullptr);
  EXPECT_EQ(*cell.get(), "value");
  EXPECT_FALSE(cell.set("other"));
  EXPECT_EQ(*cell.get(), "value");
}

TEST_P(SyncOnce, ThrowingInitializerIsRetriedAndSetStores) {
  Runtime rt{config()};
  OnceCell<std::unique_ptr<int>> cell;
  EXPECT_THROW(cell.get_or_init([]() -> std::unique_ptr<int> { throw std::runtime_error("no"); }),
               std::runtime_error);
  EXPECT_EQ(cell.get(), nullptr);
  EXPECT_TRUE(rt.block_on([&] { return cell.set(std::make_unique<int>(7)); }));
  EXPECT_EQ(**cell.get(), 7);

  OnceFlag flag;
  int calls = 0;
  EXPECT_THROW(call_once(flag, [&] {
                 ++calls;
                 throw std::runtime_error("first");
               }),
               std::runtime_error);
  EXPECT_FALSE(flag.is_done());
  call_once(flag, [&](int add) { calls += add; }, 10);
  call_once(flag, [&] { calls += 100; });
  EXPECT_EQ(calls, 11);
  EXPECT_TRUE(flag.is_done());
}

TEST_P(SyncOnce, WaiterTakesOverWhenTheRunningInitializerThrows) {
  Runtime rt{config()};
  OnceFlag flag;
  Event go;
  std::atomic<int> runs{0};
  auto failing = rt.spawn([&] {
    call_once(flag, [&] {
      runs.fetch_add(1);
      (void)go.wait();
      throw std::runtime_error("fail");
    });
  });
  ASSERT_TRUE(test::waiters_reach(go, 1));
  auto second = rt.spawn([&] { call_once(flag, [&] { runs.fetch_add(1); }); });
  go.set();
  EXPECT_THROW(failing.join(), std::runtime_error);
  second.join();
  EXPECT_EQ(runs.load(), 2);
  EXPECT_TRUE(flag.is_done());
}

TEST_P(SyncOnce, CancelledWhileWaitingForAnotherInitializer) {
  Runtime rt{config()};
  OnceCell<int> cell;
  Event go;
  auto runner = rt.spawn([&] {
    return cell.get_or_init([&] {
      (void)go.wait();
      return 5;
    });
  });
  ASSERT_TRUE(test::waiters_reach(go, 1));
  std::atomic<bool> waiting{false};
  auto waiter = rt.spawn([&]() -> std::string {
    waiting = true;
    try {
      return std::to_string(cell.get_or_init([] { return 6; }));
    } catch (const std::system_error& e) {
      return e.code() == errc::cancelled ? "cancelled" : "wrong error";
    }
  });
  ASSERT_TRUE(test::eventually([&] { return waiting.load(); }));
  waiter.cancel();
  EXPECT_EQ(waiter.join(), "cancelled");
  go.set();
  EXPECT_EQ(runner.join(), 5);  // the running initializer is unaffected
  EXPECT_EQ(*cell.get(), 5);
}

INSTANTIATE_WORKER_COUNTS(SyncOnce);

}  // namespace
}  // namespace weft
