// echo_server: a TCP echo server, one fiber per connection.
//
//   echo_server [--port N] [--workers N]      (port 0: any free port)
//
// Listens on 127.0.0.1, prints the address it listens on, and stops cleanly on SIGINT/SIGTERM:
// the signals are read from a signalfd by a fiber, which cancels the acceptor; the runtime then
// cancels the connections still open.
#include "flags.hpp"

#include <weft/weft.hpp>

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>

namespace {

std::atomic<unsigned long> g_connections{0};

void serve(weft::io::TcpStream conn) {
  std::array<std::byte, 16 * 1024> buf;
  for (;;) {
    auto n = conn.read(buf);
    if (!n || *n == 0) break;  // peer closed, error, or cancelled at shutdown
    if (!conn.write_all(std::span(buf).first(*n))) break;
  }
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
  auto listener = weft::io::TcpListener::bind("127.0.0.1", port).value();
  std::printf("echo_server: listening on %s with %u workers\n", listener.local_address().value().to_string().c_str(),
              rt.workers());
  std::fflush(stdout);

  auto acceptor = rt.spawn(weft::SpawnOptions{.name = "acceptor"}, [&listener] {
    for (;;) {
      auto conn = listener.accept();
      if (!conn) return;  // cancelled at shutdown
      g_connections.fetch_add(1, std::memory_order_relaxed);
      weft::spawn(serve, std::move(*conn)).detach();
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
  ::close(sigfd);
  return 0;  // ~Runtime cancels the connections still open
}
