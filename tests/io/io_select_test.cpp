// IO operations as select branches: an IO completion, a channel message or a deadline, whichever
// comes first; losers are cancelled and settled before select returns (their buffers are safe),
// and nothing is lost: what a losing read took is reported by its branch.
#include "support/test_support.hpp"

#include <weft/io/select.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>

namespace weft {
namespace {

using namespace std::chrono_literals;

class IoSelect : public test::WorkerCountTest {};

struct PipeFds {
  int r = -1, w = -1;
  PipeFds() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) r = p[0], w = p[1];
  }
  ~PipeFds() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
};

TEST_P(IoSelect, ReadyIoWinsOverATimer) {
  Runtime rt{config()};
  rt.block_on([] {
    PipeFds p;
    ASSERT_EQ(::write(p.w, "abc", 3), 3);
    std::array<std::byte, 8> buf{};
    std::size_t got = 0;
    auto taken = select(io::on_io(io::op_read(p.r, buf), [&](Result<std::size_t> n) { got = n.value(); }),
                        after(10s, [] { FAIL() << "the timer won over ready data"; }));
    ASSERT_TRUE(taken);
    EXPECT_EQ(*taken, 0u);
    EXPECT_EQ(got, 3u);
    EXPECT_EQ(std::memcmp(buf.data(), "abc", 3), 0);
  });
}

TEST_P(IoSelect, TimerWinsAndTheReadIsCancelledBeforeSelectReturns) {
  Runtime rt{config()};
  rt.block_on([] {
    PipeFds p;
    std::array<std::byte, 8> buf{};
    bool fired = false;
    auto io_branch = io::on_io(io::op_read(p.r, buf), [](Result<std::size_t>) { FAIL() << "nothing to read"; });
    auto taken = select(std::move(io_branch), after(20ms, [&] { fired = true; }));
    ASSERT_TRUE(taken);
    EXPECT_EQ(*taken, 1u);
    EXPECT_TRUE(fired);
    // The losing read is settled: data written now is not read into `buf` behind our back, and a
    // plain read gets all of it.
    ASSERT_EQ(::write(p.w, "xyz", 3), 3);
    std::array<std::byte, 8> again{};
    EXPECT_EQ(io::read(p.r, again).value(), 3u);
    EXPECT_EQ(buf[0], std::byte{0});
  });
}

TEST_P(IoSelect, AChannelMessageWinsOverAQuietSocketAndViceVersa) {
  Runtime rt{config()};
  rt.block_on([] {
    PipeFds p;
    auto [tx, rx] = make_channel<int>(1);
    auto sender = spawn([tx = tx] {
      (void)sleep_for(5ms);
      tx.send(7).value();
    });
    std::array<std::byte, 8> buf{};
    int value = 0;
    auto taken = select(io::on_io(io::op_read(p.r, buf), [](Result<std::size_t>) {}),
                        on_recv(rx, [&](int v) { value = v; }));
    ASSERT_TRUE(taken);
    EXPECT_EQ(*taken, 1u);
    EXPECT_EQ(value, 7);
    sender.join();
    // Now the pipe: data arrives from another fiber while nothing comes on the channel.
    auto writer = spawn([w = p.w] {
      (void)sleep_for(5ms);
      const char msg[] = "hi";
      return io::write(w, std::as_bytes(std::span(msg, 2))).value();
    });
    std::size_t got = 0;
    taken = select(io::on_io(io::op_read(p.r, buf), [&](Result<std::size_t> n) { got = n.value(); }),
                   on_recv(rx, [](int) { FAIL() << "nothing was sent"; }));
    ASSERT_TRUE(taken);
    EXPECT_EQ(*taken, 0u);
    EXPECT_EQ(got, 2u);
    EXPECT_EQ(writer.join(), 2u);
  });
}

// Bytes written at random moments against a select that keeps timing out: every byte is seen
// exactly once, by a winning read or reported by a losing one.
TEST_P(IoSelect, NoByteIsLostWhenReadsLoseToTimers) {
  Runtime rt{config()};
  const int n = static_cast<int>(test::scaled(300));
  rt.block_on([n] {
    PipeFds p;
    auto writer = spawn([w = p.w, n] {
      for (int i = 0; i < n; ++i) {
        const std::byte b{static_cast<unsigned char>(i)};
        if (!io::write(w, std::span(&b, 1))) return false;
        if (i % 3 == 0) (void)sleep_for(std::chrono::microseconds(300));
      }
      return true;
    });
    std::size_t seen = 0;
    unsigned sum = 0, expected = 0;
    for (int i = 0; i < n; ++i) expected += static_cast<unsigned char>(i);
    while (seen < static_cast<std::size_t>(n)) {
      std::array<std::byte, 64> buf{};
      auto count = [&](std::size_t k) {
        for (std::size_t j = 0; j < k; ++j) sum += std::to_integer<unsigned>(buf[j]);
        seen += k;
      };
      auto read_branch = io::on_io(io::op_read(p.r, buf), [&](Result<std::size_t> k) { count(k.value()); });
      auto taken = select(read_branch, after(200us, [] {}));
      ASSERT_TRUE(taken);
      if (*taken == 1) {
        if (auto lost = read_branch.result()) count(*lost);  // completed before its cancel
      }
    }
    EXPECT_TRUE(writer.join());
    EXPECT_EQ(seen, static_cast<std::size_t>(n));
    EXPECT_EQ(sum, expected);
  });
}

TEST_P(IoSelect, CancellingTheFiberCancelsTheIoBranch) {
  Runtime rt{config()};
  PipeFds p;
  std::atomic<bool> waiting{false};
  auto h = rt.spawn([&] {
    std::array<std::byte, 8> buf{};
    waiting.store(true);
    auto taken = select(io::on_io(io::op_read(p.r, buf), [](Result<std::size_t>) {}));
    return taken ? std::error_code() : taken.error();
  });
  ASSERT_TRUE(test::eventually([&] { return waiting.load(); }));
  std::this_thread::sleep_for(10ms);
  h.cancel();
  EXPECT_EQ(h.join(), errc::cancelled);
}

TEST(IoSelectOutsideAFiber, TheHandlerGetsNotInFiber) {
  PipeFds p;
  std::array<std::byte, 8> buf{};
  std::error_code ec;
  auto taken = select(io::on_io(io::op_read(p.r, buf), [&](Result<std::size_t> r) { ec = r ? std::error_code() : r.error(); }));
  ASSERT_TRUE(taken);
  EXPECT_EQ(ec, errc::not_in_fiber);
}

INSTANTIATE_WORKER_COUNTS(IoSelect);

}  // namespace
}  // namespace weft
