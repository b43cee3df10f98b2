// echo_server: a TCP echo server, one fiber per connection.
//
//   echo_server [--port N] [--workers N]      (port 0: any free port)
//
// Listens on 127.0.0.1, prints the address it listens on, and stops cleanly on SIGINT/SIGTERM:
// the signals are read from a signalfd by a fiber, which cancels the acceptor; the runtime then
// cancels the connections still open.
#include "flags.hpp"

#include <weft/io/ops.hpp>
#include <weft/weft.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <utility>

namespace {

std::atomic<unsigned long> g_connections{0};

void serve(int fd) {
  std::array<std::byte, 16 * 1024> buf;
  for (;;) {
    auto n = weft::io::recv(fd, buf);
    if (!n || *n == 0) break;  // peer closed, error, or cancelled at shutdown
    auto chunk = std::span<const std::byte>(buf).first(*n);
    while (!chunk.empty()) {
      auto w = weft::io::send(fd, chunk, MSG_NOSIGNAL);
      if (!w) break;
      chunk = chunk.subspan(*w);
    }
    if (!chunk.empty()) break;
  }
  (void)weft::io::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(weft::examples::flag(argc, argv, "--port", 0));
  const auto workers = static_cast<unsigned>(weft::examples::flag(argc, argv, "--workers", 0));

  // Block the stop signals in every thread (the workers inherit the mask) and read them in a fiber.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  const int sigfd = ::signalfd(-1, &stop, SFD_CLOEXEC);

  weft::Runtime rt{weft::Config{.workers = workers}};
  const auto [listener, bound_port] = rt.block_on([port] {
    int fd = weft::io::socket(AF_INET, SOCK_STREAM).value();
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    weft::io::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr).value();
    weft::io::listen(fd, 1024).value();
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    return std::pair{fd, ntohs(addr.sin_port)};
  });
  std::printf("echo_server: listening on 127.0.0.1:%u with %u workers\n", bound_port, rt.workers());
  std::fflush(stdout);

  auto acceptor = rt.spawn(weft::SpawnOptions{.name = "acceptor"}, [listener] {
    for (;;) {
      auto c = weft::io::accept(listener);
      if (!c) return;  // cancelled at shutdown
      const int one = 1;
      ::setsockopt(*c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      g_connections.fetch_add(1, std::memory_order_relaxed);
      weft::spawn(serve, *c).detach();
    }
  });

  rt.block_on([&] {
    signalfd_siginfo info{};
    auto n = weft::io::read(sigfd, std::as_writable_bytes(std::span(&info, 1)));
    std::printf("echo_server: %s, stopping after %lu connections\n",
                n ? strsignal(static_cast<int>(info.ssi_signo)) : "signal read failed", g_connections.load());
  });
  acceptor.cancel();
  acceptor.join();
  ::close(listener);
  ::close(sigfd);
  return 0;  // ~Runtime cancels the connections still open
}
