// CancellationSource/CancellationToken: trees of sources, and a task spawned with a token is woken
// from every kind of blocking call when the token is cancelled (sleep, IO, mutex, join, channels,
// select), never runs
// when the token was cancelled before it started; a task's own token follows its cancellation.
#include "support/test_support.hpp"

#include <weft/io/ops.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <system_error>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

TEST(RuntimeCancellationSource, ChildrenFollowTheirParentButNotTheOtherWay) {
  CancellationSource root;
  CancellationSource child(root.token());
  CancellationSource grandchild(child.token());
  CancellationSource sibling(root.token());
  EXPECT_TRUE(root.token().can_be_cancelled());
  EXPECT_FALSE(grandchild.cancelled());

  sibling.cancel();
  EXPECT_TRUE(sibling.cancelled());
  EXPECT_FALSE(root.cancelled());
  EXPECT_FALSE(child.cancelled());

  CancellationToken t = grandchild.token();
  root.cancel();
  EXPECT_TRUE(child.cancelled());
  EXPECT_TRUE(grandchild.cancelled());
  EXPECT_TRUE(t.cancelled());
  root.cancel();  // idempotent

  CancellationSource late(root.token());  // a child of a cancelled parent starts cancelled
  EXPECT_TRUE(late.cancelled());
}

TEST(RuntimeCancellationSource, DefaultTokenAndDestroyedSource) {
  CancellationToken none;
  EXPECT_FALSE(none.can_be_cancelled());
  EXPECT_FALSE(none.cancelled());
  CancellationSource root_from_none(none);
  EXPECT_FALSE(root_from_none.cancelled());

  CancellationToken orphan;
  {
    CancellationSource parent;
    CancellationSource child(parent.token());
    orphan = child.token();
  }
  EXPECT_FALSE(orphan.cancelled());
  EXPECT_FALSE(orphan.can_be_cancelled());  // nothing can cancel it any more

  CancellationSource moved_from;
  CancellationSource moved = std::move(moved_from);
  moved_from.cancel();  // ignored
  EXPECT_FALSE(moved.cancelled());
  moved.cancel();
  EXPECT_TRUE(moved.cancelled());
}

TEST(RuntimeCancellationSource, StopTokenInterop) {
  CancellationSource src;
  std::atomic<int> calls{0};
  std::stop_callback cb(src.token().stop_token(), [&] { calls.fetch_add(1); });
  src.cancel();
  src.cancel();
  EXPECT_EQ(calls.load(), 1);
}

class RuntimeCancellation : public test::WorkerCountTest {};

// expect_cancelled: runs `blocked` in a fiber spawned with a token, waits until it is about to
// block, cancels the token and expects the fiber to report errc::cancelled.
template <class Blocked>
void expect_token_cancels(Runtime& rt, Blocked blocked) {
  CancellationSource stop;
  std::atomic<bool> entered{false};
  auto h = rt.spawn(SpawnOptions{.name = "blocked", .token = stop.token()}, [&]() -> std::error_code {
    entered.store(true);
    return blocked();
  });
  ASSERT_TRUE(test::eventually([&] { return entered.load(); }));
  // The fiber may not have parked yet: cancellation must be seen whether it comes before or after.
  std::this_thread::sleep_for(2ms);
  stop.cancel();
  if (!test::eventually([&] { return h.is_finished(); })) {
    h.cancel();  // unblock it so the test ends, and fail
    ADD_FAILURE() << "cancelling the token did not wake the fiber";
  }
  EXPECT_EQ(h.join(), make_error_code(errc::cancelled));
}

TEST_P(RuntimeCancellation, TokenWakesASleepingFiber) {
  Runtime rt{config()};
  expect_token_cancels(rt, []() -> std::error_code {
    auto r = sleep_for(1h);
    return r ? std::error_code{} : r.error();
  });
}

TEST_P(RuntimeCancellation, TokenWakesAFiberBlockedInIo) {
  Runtime rt{config()};
  std::array<int, 2> fds{};
  ASSERT_EQ(::pipe2(fds.data(), O_CLOEXEC), 0);
  expect_token_cancels(rt, [&]() -> std::error_code {
    std::array<std::byte, 16> buf{};
    auto r = io::read(fds[0], buf);  // nobody ever writes
    return r ? std::error_code{} : r.error();
  });
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_P(RuntimeCancellation, TokenWakesFibersBlockedOnChannelsAndInSelect) {
  Runtime rt{config()};
  auto [tx, rx] = make_channel<int>(0);  // rendezvous: a send waits for a receiver
  expect_token_cancels(rt, [rx = rx]() -> std::error_code {
    auto r = rx.recv();  // nobody sends
    return r ? std::error_code{} : r.error();
  });
  expect_token_cancels(rt, [tx = tx]() -> std::error_code {
    auto r = tx.send(1);  // nobody receives
    return r ? std::error_code{} : r.error().code;
  });
  expect_token_cancels(rt, [rx = rx]() -> std::error_code {
    auto r = select(on_recv(rx, [](int) {}), after(1h, [] {}));
    return r ? std::error_code{} : r.error();
  });
}

TEST_P(RuntimeCancellation, TokenWakesAFiberBlockedOnAMutex) {
  Runtime rt{config()};
  Mutex m;
  std::unique_lock held(m);  // main holds it throughout
  expect_token_cancels(rt, [&]() -> std::error_code {
    auto r = m.lock_cancellable();
    if (r) m.unlock();
    return r ? std::error_code{} : r.error();
  });
}

TEST_P(RuntimeCancellation, TokenWakesAFiberBlockedInJoin) {
  Runtime rt{config()};
  auto sleeper = rt.spawn([] { (void)sleep_for(1h); });
  expect_token_cancels(rt, [&]() -> std::error_code {
    try {
      sleeper.join();
      return {};
    } catch (const std::system_error& e) {
      return e.code();
    }
  });
  EXPECT_FALSE(sleeper.is_finished());  // the joined task itself was not cancelled
  sleeper.cancel();
  sleeper.join();
}

TEST_P(RuntimeCancellation, OneTokenCancelsATreeOfTasks) {
  Runtime rt{config()};
  const int n = static_cast<int>(test::scaled(2000));
  CancellationSource root;
  CancellationSource left(root.token()), right(root.token());
  std::atomic<int> started{0}, cancelled{0};
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < n; ++i) {
    const CancellationSource& src = i % 2 ? left : right;
    hs.push_back(rt.spawn(SpawnOptions{.token = src.token()}, [&] {
      started.fetch_add(1);
      if (auto r = sleep_for(1h); !r && r.error() == errc::cancelled) cancelled.fetch_add(1);
    }));
  }
  ASSERT_TRUE(test::eventually([&] { return started.load() == n; }));
  root.cancel();
  EXPECT_TRUE(test::eventually([&] { return cancelled.load() == n; }));
  for (auto& h : hs) h.cancel();
  for (auto& h : hs) h.join();
  EXPECT_EQ(cancelled.load(), n);
}

TEST_P(RuntimeCancellation, TaskSpawnedWithACancelledTokenNeverRuns) {
  Runtime rt{config()};
  CancellationSource stop;
  stop.cancel();
  std::atomic<bool> ran{false};
  auto h = rt.spawn(SpawnOptions{.token = stop.token()}, [&] { ran.store(true); });
  try {
    h.join();
    ADD_FAILURE() << "join should throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::cancelled);
  }
  EXPECT_FALSE(ran.load());
}

TEST_P(RuntimeCancellation, OwnTokenFollowsJoinHandleCancel) {
  Runtime rt{config()};
  std::atomic<bool> have_token{false};
  auto h = rt.spawn([&] {
    CancellationToken mine = this_fiber::cancellation_token();
    EXPECT_TRUE(mine.can_be_cancelled());
    EXPECT_FALSE(mine.cancelled());
    have_token.store(true);
    // A CPU-bound loop that polls only the token (no cancellation point): request_cancel must
    // flip it even though the fiber never parks.
    const auto bound = std::chrono::steady_clock::now() + 20s;
    while (!mine.cancelled() && std::chrono::steady_clock::now() < bound) this_fiber::yield();
    return mine.cancelled();
  });
  ASSERT_TRUE(test::eventually([&] { return have_token.load(); }));
  h.cancel();
  EXPECT_TRUE(h.join());
}

TEST_P(RuntimeCancellation, OwnTokenFollowsTheSpawnToken) {
  Runtime rt{config()};
  CancellationSource stop;
  std::atomic<bool> have_token{false};
  auto h = rt.spawn(SpawnOptions{.token = stop.token()}, [&] {
    CancellationSource child(this_fiber::cancellation_token());
    have_token.store(true);
    const auto bound = std::chrono::steady_clock::now() + 20s;
    while (!child.cancelled() && std::chrono::steady_clock::now() < bound) this_fiber::yield();
    return child.cancelled();
  });
  ASSERT_TRUE(test::eventually([&] { return have_token.load(); }));
  stop.cancel();
  EXPECT_TRUE(h.join());
}

TEST_P(RuntimeCancellation, OwnTokenFollowsShutdown) {
  std::atomic<bool> have_token{false}, saw_cancel{false};
  {
    Runtime rt{config()};
    rt.spawn([&] {
      CancellationToken mine = this_fiber::cancellation_token();
      have_token.store(true);
      const auto bound = std::chrono::steady_clock::now() + 20s;
      while (!mine.cancelled() && std::chrono::steady_clock::now() < bound) this_fiber::yield();
      saw_cancel.store(mine.cancelled());
    }).detach();
    ASSERT_TRUE(test::eventually([&] { return have_token.load(); }));
  }
  EXPECT_TRUE(saw_cancel.load());
}

TEST(RuntimeCancellationPlainThread, OwnTokenOfAPlainThreadIsNeverCancelled) {
  EXPECT_FALSE(this_fiber::cancellation_token().can_be_cancelled());
}

INSTANTIATE_WORKER_COUNTS(RuntimeCancellation);

}  // namespace
}  // namespace weft
