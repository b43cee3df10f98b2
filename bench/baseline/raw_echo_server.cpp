// raw_echo_server: the limit for W5/W6: a single-threaded TCP echo server on plain liburing, no
// runtime, no fibers. One ring; per connection one buffer and a recv -> send -> recv chain driven
// by completions. Same flags as weft's rings (SINGLE_ISSUER | DEFER_TASKRUN).
//
//   raw_echo_server [--port N]      prints "raw_echo_server: listening on 127.0.0.1:PORT"
// Stops on SIGINT/SIGTERM (read from a signalfd through the ring).
#include <liburing.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace {

enum Kind : unsigned { kAccept, kRecv, kSend, kSignal };

struct Conn {
  int fd;
  unsigned len = 0;
  char buf[16 * 1024];
};

std::uint64_t tag(Kind k, Conn* c) { return (reinterpret_cast<std::uint64_t>(c) << 2) | k; }

io_uring ring;

io_uring_sqe* sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  if (!s) {
    io_uring_submit(&ring);
    s = io_uring_get_sqe(&ring);
  }
  return s;
}

void post_recv(Conn* c) {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv(s, c->fd, c->buf, sizeof c->buf, 0);
  io_uring_sqe_set_data64(s, tag(kRecv, c));
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--port") == 0) port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  const int sigfd = signalfd(-1, &stop, SFD_CLOEXEC);

  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (io_uring_queue_init_params(1024, &ring, &p) != 0) {
    std::fprintf(stderr, "raw_echo_server: io_uring setup failed\n");
    return 1;
  }
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 1024) != 0) {
    std::perror("raw_echo_server: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen);
  std::printf("raw_echo_server: listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  io_uring_sqe* s = sqe();
  io_uring_prep_accept(s, lfd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, tag(kAccept, nullptr));
  signalfd_siginfo info;
  s = sqe();
  io_uring_prep_read(s, sigfd, &info, sizeof info, 0);
  io_uring_sqe_set_data64(s, tag(kSignal, nullptr));

  for (bool running = true; running;) {
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++n;
      const auto kind = static_cast<Kind>(cqe->user_data & 3);
      auto* c = reinterpret_cast<Conn*>(cqe->user_data >> 2);
      switch (kind) {
        case kSignal:
          running = false;
          break;
        case kAccept: {
          if (cqe->res >= 0) {
            setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            post_recv(new Conn{cqe->res});
          }
          io_uring_sqe* a = sqe();
          io_uring_prep_accept(a, lfd, nullptr, nullptr, SOCK_CLOEXEC);
          io_uring_sqe_set_data64(a, tag(kAccept, nullptr));
          break;
        }
        case kRecv:
          if (cqe->res <= 0) {
            close(c->fd);
            delete c;
          } else {
            c->len = static_cast<unsigned>(cqe->res);
            io_uring_sqe* w = sqe();
            io_uring_prep_send(w, c->fd, c->buf, c->len, MSG_NOSIGNAL);
            io_uring_sqe_set_data64(w, tag(kSend, c));
          }
          break;
        case kSend:
          if (cqe->res <= 0) {
            close(c->fd);
            delete c;
          } else {
            post_recv(c);  // echo of 64 bytes is sent whole on loopback
          }
          break;
      }
    }
    io_uring_cq_advance(&ring, n);
  }
  std::printf("raw_echo_server: stopping\n");
  io_uring_queue_exit(&ring);
  return 0;
}
