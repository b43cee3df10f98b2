// Linked chains: soft and hard links when an operation fails or completes, a chain that ends with
// a linked timeout (expiring and completing), cancellation of a chain in flight, and misuse.
#include <weft/io/link.hpp>

#include "support/test_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

struct TempFile {
  char path[32] = "/tmp/weft-link-XXXXXX";
  int fd;
  TempFile() : fd(::mkstemp(path)) {}
  ~TempFile() {
    ::close(fd);
    ::unlink(path);
  }
};

class IoLink : public test::WorkerCountTest {};

TEST_P(IoLink, SoftChainRunsInOrder) {
  Runtime rt{config()};
  TempFile f;
  rt.block_on([&] {
    std::array<std::byte, 5> in{};
    auto [w, s, r] = io::link(io::op_write(f.fd, bytes("chain"), 0), io::op_fsync(f.fd), io::op_read(f.fd, in, 0));
    EXPECT_EQ(w.value(), 5u);
    EXPECT_TRUE(s);
    EXPECT_EQ(r.value(), 5u);  // the read ran after the write
    EXPECT_EQ(std::memcmp(in.data(), "chain", 5), 0);
  });
}

TEST_P(IoLink, SoftChainBreaksHardChainGoesOn) {
  Runtime rt{config()};
  TempFile f;
  rt.block_on([&] {
    std::array<std::byte, 4> buf{};
    auto [bad, after] = io::link(io::op_read(-1, buf), io::op_write(f.fd, bytes("x"), 0));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), std::errc::bad_file_descriptor);
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error(), errc::cancelled);  // never ran

    auto [bad2, after2] = io::link_hard(io::op_read(-1, buf), io::op_write(f.fd, bytes("y"), 0));
    ASSERT_FALSE(bad2);
    EXPECT_EQ(after2.value(), 1u);  // ran anyway
  });
}

TEST_P(IoLink, LinkedTimeoutExpiresOrNot) {
  Runtime rt{config()};
  rt.block_on([] {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    std::array<std::byte, 8> buf{};
    // The write completes, the read waits on an empty pipe and times out.
    auto [w, r] = io::link_until(std::chrono::steady_clock::now() + 20ms, io::op_nop(), io::op_read(p[0], buf));
    EXPECT_TRUE(w);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::timed_out);
    // With data there, the same chain completes well before its deadline.
    ASSERT_EQ(::write(p[1], "ok", 2), 2);
    auto [w2, r2] = io::link_until(std::chrono::steady_clock::now() + 10s, io::op_nop(), io::op_read(p[0], buf));
    EXPECT_TRUE(w2);
    EXPECT_EQ(r2.value(), 2u);
    ::close(p[0]);
    ::close(p[1]);
  });
}

TEST_P(IoLink, CancelAChainInFlight) {
  Runtime rt{config()};
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  std::atomic<bool> started{false};
  auto h = rt.spawn([&] {
    std::array<std::byte, 8> buf{};
    started.store(true);
    auto [a, b] = io::link(io::op_read(p[0], buf), io::op_read(p[0], buf));
    return std::pair{a ? std::error_code() : a.error(), b ? std::error_code() : b.error()};
  });
  ASSERT_TRUE(test::eventually([&] { return started.load(); }));
  std::this_thread::sleep_for(10ms);
  h.cancel();
  auto [a, b] = h.join();
  EXPECT_EQ(a, errc::cancelled);
  EXPECT_EQ(b, errc::cancelled);
  ::close(p[0]);
  ::close(p[1]);
}

INSTANTIATE_WORKER_COUNTS(IoLink);

TEST(IoLinkMisuse, BadChainsAndOutsideAFiber) {
  std::vector<io::Op> too_many(65, io::op_nop());
  std::vector<Result<std::size_t>> out(65);
  Runtime rt{Config{.workers = 1}};
  rt.block_on([&] {
    io::run_chain(too_many, out, io::LinkMode::soft, std::chrono::steady_clock::time_point::max());
    EXPECT_EQ(out[0].error(), std::errc::invalid_argument);
    std::vector<Result<std::size_t>> short_out(1);
    io::run_chain(std::span(too_many).first(2), short_out, io::LinkMode::soft,
                  std::chrono::steady_clock::time_point::max());
    EXPECT_EQ(short_out[0].error(), std::errc::invalid_argument);
  });
  auto [n] = io::link(io::op_nop());
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), errc::not_in_fiber);
}

}  // namespace
}  // namespace weft
