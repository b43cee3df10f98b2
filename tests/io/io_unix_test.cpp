// Unix domain stream sockets: listener and streams on a path, abstract names, socketpair, the
// deadline forms StreamSocket shares with TCP, and the error paths a user can reach.
#include "support/test_support.hpp"

#include <weft/io/unix.hpp>

#include <unistd.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

namespace weft {
namespace {

using namespace std::chrono_literals;
using io::UnixListener;
using io::UnixStream;
using Clock = std::chrono::steady_clock;

class IoUnix : public test::WorkerCountTest {};

std::span<const std::byte> bytes(const char* s) { return std::as_bytes(std::span(s, std::strlen(s))); }

std::string temp_socket_path() {
  return "/tmp/weft-unix-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()) + ".sock";
}

TEST_P(IoUnix, EchoOverAPathAcrossFibers) {
  Runtime rt{config()};
  const std::string path = temp_socket_path();
  rt.block_on([&] {
    auto l = UnixListener::bind(path).value();
    auto server = spawn([&l] {
      UnixStream c = l.accept().value();
      std::array<std::byte, 5> buf{};
      c.read_exact(buf).value();
      c.write_all(buf).value();
    });
    UnixStream c = UnixStream::connect(path).value();
    c.write_all(bytes("hello")).value();
    std::array<std::byte, 5> back{};
    c.read_exact(back).value();
    EXPECT_EQ(std::memcmp(back.data(), "hello", 5), 0);
    server.join();
  });
  ::unlink(path.c_str());
}

TEST_P(IoUnix, AbstractNamesAndPairs) {
  Runtime rt{config()};
  rt.block_on([] {
    const std::string name = "@weft-test-" + std::to_string(::getpid());
    auto l = UnixListener::bind(name).value();
    auto accepted = spawn([&l] { return l.accept().has_value(); });
    EXPECT_TRUE(UnixStream::connect(name).has_value());
    EXPECT_TRUE(accepted.join());

    auto [a, b] = UnixStream::pair().value();
    a.write_all(bytes("xy")).value();
    a.shutdown(SHUT_WR).value();
    std::array<std::byte, 2> got{};
    b.read_exact(got).value();
    std::array<std::byte, 1> more{};
    EXPECT_EQ(b.read(more).value(), 0u);  // end of stream after the shutdown
  });
}

TEST_P(IoUnix, DeadlinesOnReadsAndWrites) {
  Runtime rt{config()};
  rt.block_on([] {
    auto [a, b] = UnixStream::pair().value();
    std::array<std::byte, 4> buf{};
    auto r = a.read_until(buf, Clock::now() + 20ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::timed_out);
    EXPECT_EQ(a.read_exact_until(buf, Clock::now() + 20ms).error(), std::errc::timed_out);
    // Nobody reads b's peer: a large write fills the socket buffer and then times out.
    std::vector<std::byte> big(8 << 20);
    auto w = a.write_all_until(big, Clock::now() + 50ms);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error(), std::errc::timed_out);
    (void)b;
  });
}

TEST_P(IoUnix, ErrorsAreReported) {
  Runtime rt{config()};
  rt.block_on([] {
    EXPECT_EQ(UnixStream::connect("/tmp/weft-no-such-socket").error(), std::errc::no_such_file_or_directory);
    EXPECT_EQ(UnixListener::bind("").error(), std::errc::invalid_argument);
    EXPECT_EQ(UnixListener::bind(std::string(200, 'x')).error(), std::errc::filename_too_long);
    EXPECT_EQ(UnixListener::bind("/no/such/dir/s.sock").error(), std::errc::no_such_file_or_directory);
    const std::string path = temp_socket_path();
    auto l = UnixListener::bind(path).value();
    EXPECT_EQ(UnixListener::bind(path).error(), std::errc::address_in_use);
    // Closing the listener wakes a fiber blocked in accept.
    auto acceptor = spawn([&l] { return l.accept().has_value(); });
    (void)sleep_for(5ms);
    EXPECT_TRUE(l.close());
    EXPECT_FALSE(acceptor.join());
    ::unlink(path.c_str());
  });
}

INSTANTIATE_WORKER_COUNTS(IoUnix);

}  // namespace
}  // namespace weft
