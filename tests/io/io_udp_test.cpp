// UdpSocket: datagrams between fibers with the sender's address, deadlines, errors.
#include <weft/io/udp.hpp>

#include "support/test_support.hpp"

#include <array>
#include <cstring>

namespace weft {
namespace {

using io::SocketAddress;
using io::UdpSocket;

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

class IoUdp : public test::WorkerCountTest {};

TEST_P(IoUdp, DatagramsBothWays) {
  Runtime rt{config()};
  rt.block_on([] {
    auto a = UdpSocket::bind("127.0.0.1", 0).value();
    auto b = UdpSocket::bind("127.0.0.1", 0).value();
    const SocketAddress a_addr = a.local_address().value();
    const SocketAddress b_addr = b.local_address().value();
    auto echo = spawn([&b] {
      std::array<std::byte, 64> buf{};
      SocketAddress from;
      const std::size_t n = b.recv_from(buf, &from).value();
      b.send_to(std::span(buf).first(n), from).value();
      return from.port();
    });
    EXPECT_EQ(a.send_to(bytes("datagram"), b_addr).value(), 8u);
    std::array<std::byte, 64> back{};
    SocketAddress from;
    EXPECT_EQ(a.recv_from(back, &from).value(), 8u);
    EXPECT_EQ(std::memcmp(back.data(), "datagram", 8), 0);
    EXPECT_EQ(from.port(), b_addr.port());
    EXPECT_EQ(echo.join(), a_addr.port());
  });
}

TEST_P(IoUdp, DeadlinesAndErrors) {
  Runtime rt{config()};
  rt.block_on([] {
    auto s = UdpSocket::bind("127.0.0.1", 0).value();
    std::array<std::byte, 8> buf{};
    auto t = s.recv_from_until(buf, std::chrono::steady_clock::now() + std::chrono::milliseconds(10));
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), std::errc::timed_out);
    auto bad = UdpSocket::bind("nope", 0);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), std::errc::invalid_argument);
    auto taken = UdpSocket::bind("127.0.0.1", s.local_address().value().port());
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error(), std::errc::address_in_use);
    std::vector<std::byte> huge(70000);
    auto too_big = s.send_to(huge, s.local_address().value());
    ASSERT_FALSE(too_big);
    EXPECT_EQ(too_big.error(), std::errc::message_size);
    EXPECT_TRUE(s.close());
  });
}

INSTANTIATE_WORKER_COUNTS(IoUdp);

}  // namespace
}  // namespace weft
