// raw_uring_mshot_echo: the io_uring limit for W8 (bench/latency.sh): a single-threaded TCP echo
// server on plain liburing with the service-path features weft's backend can use: multishot
// accept, multishot recv into a provided buffer ring, and a send straight from the provided buffer.
// No runtime, no fibers, no per-connection buffer. Same ring flags as weft's rings
// (SINGLE_ISSUER | DEFER_TASKRUN).
//
//   raw_uring_mshot_echo [--port N]   prints "raw_uring_mshot_echo: listening on 127.0.0.1:PORT"
// Stops on SIGINT/SIGTERM (read from a signalfd through the ring).
//
// Invariants:
// - A provided buffer goes back to the ring only after the send that echoes it has completed in
//   full, so the kernel never refills a buffer it is still sending from.
// - One send in flight per connection, in arrival order: two sends on one socket in flight at
//   once may complete out of order (one waits for space, the next does not), which would reorder
//   the stream. Buffers received while a send is in flight wait in the connection's FIFO.
// - A multishot recv that ends (no IORING_CQE_F_MORE) is re-armed at once unless the connection is
//   closing; when it ended for lack of buffers (-ENOBUFS) it is re-armed after some buffer returns,
//   since re-arming at once would spin on the same error.
// - A connection is freed only when it has no recv armed and no send in flight: the kernel holds
//   its pointer in their user_data until their final completions.
// - The CQ is sized (32k entries) for one completion per connection at 10,000 connections with
//   room to spare; the kernel (6.x, IORING_FEAT_NODROP) keeps overflowed CQEs anyway, at a cost.
#include "flags.hpp"

#include <liburing.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <vector>

namespace {

constexpr unsigned kBufCount = 16384;  // power of two; with one 512 B message per connection in
constexpr unsigned kBufSize = 2048;    // flight, 10,000 connections hold at most 10,000 at once
constexpr unsigned kBufGroup = 0;
constexpr unsigned kSqEntries = 4096;
constexpr unsigned kCqEntries = 32768;
constexpr int kErrorsPrinted = 10;

enum Kind : unsigned { kAccept, kAcceptRetry, kRecv, kSend, kSignal };

// Pending: a received provided buffer (bid) whose bytes [off, off + len) are still to be echoed.
struct Pending {
  unsigned short bid;
  unsigned off;
  unsigned len;
};

struct Conn {
  explicit Conn(int f) : fd(f) {}
  int fd;
  bool recv_armed = false;
  bool send_inflight = false;
  bool closing = false;  // no more recvs: EOF, error, or a failed send
  bool starved = false;  // its recv ended with -ENOBUFS; on the starved list
  std::deque<Pending> out;
};

std::uint64_t tag(Kind k, Conn* c) { return reinterpret_cast<std::uint64_t>(c) | k; }
static_assert(alignof(Conn) >= 8, "three low bits of a Conn* carry the kind");

io_uring ring;
io_uring_buf_ring* br;
char* buffers;
unsigned returned = 0;  // buffers added to the ring since the last advance
std::vector<Conn*> starved;
int lfd = -1;
int errors_printed = 0;

io_uring_sqe* sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  while (!s) {
    io_uring_submit(&ring);
    s = io_uring_get_sqe(&ring);
  }
  return s;
}

void give_back(unsigned short bid) {
  io_uring_buf_ring_add(br, buffers + static_cast<std::size_t>(bid) * kBufSize, kBufSize, bid,
                        io_uring_buf_ring_mask(kBufCount), static_cast<int>(returned++));
}

void arm_accept() {
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, lfd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, tag(kAccept, nullptr));
}

void arm_recv(Conn* c) {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, c->fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = kBufGroup;
  io_uring_sqe_set_data64(s, tag(kRecv, c));
  c->recv_armed = true;
}

void post_send(Conn* c) {
  const Pending& p = c->out.front();
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, c->fd, buffers + static_cast<std::size_t>(p.bid) * kBufSize + p.off, p.len, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, tag(kSend, c));
  c->send_inflight = true;
}

void maybe_free(Conn* c) {
  if (!c->closing || c->recv_armed || c->send_inflight || c->starved || !c->out.empty()) return;
  close(c->fd);
  delete c;
}

// fail: stops echoing on c after a send error; shutdown() ends its multishot recv, whose final
// completion then frees it.
void fail(Conn* c) {
  c->closing = true;
  for (const Pending& p : c->out) give_back(p.bid);
  c->out.clear();
  shutdown(c->fd, SHUT_RDWR);
}

void on_recv(Conn* c, const io_uring_cqe* cqe) {
  if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
    const auto bid = static_cast<unsigned short>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    if (c->closing) {
      give_back(bid);
    } else {
      c->out.push_back({bid, 0, static_cast<unsigned>(cqe->res)});
      if (!c->send_inflight) post_send(c);
    }
  }
  if (cqe->flags & IORING_CQE_F_MORE) return;
  c->recv_armed = false;
  if (c->closing) return maybe_free(c);
  if (cqe->res == -ENOBUFS) {
    c->starved = true;
    starved.push_back(c);
  } else if (cqe->res > 0) {
    arm_recv(c);
  } else {  // 0: the peer closed; < 0: reset or another error
    c->closing = true;
    maybe_free(c);
  }
}

void on_send(Conn* c, const io_uring_cqe* cqe) {
  c->send_inflight = false;
  if (cqe->res <= 0) {
    fail(c);
    return maybe_free(c);
  }
  Pending& p = c->out.front();
  p.off += static_cast<unsigned>(cqe->res);
  p.len -= static_cast<unsigned>(cqe->res);
  if (p.len == 0) {
    give_back(p.bid);
    c->out.pop_front();
  }
  if (!c->out.empty()) return post_send(c);
  maybe_free(c);
}

}  // namespace

int main(int argc, char** argv) {
  weft::examples::positional(argc, argv, {"--port"});
  const auto port = weft::examples::flag(argc, argv, "--port", 0);
  if (port > 65535) {
    std::fprintf(stderr, "raw_uring_mshot_echo: --port must be below 65536\n");
    return 2;
  }
  // Up to the hard fd limit: 10,000 connections do not fit the usual soft 1024.
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  const int sigfd = signalfd(-1, &stop, SFD_CLOEXEC);

  io_uring_params p{};
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
  p.cq_entries = kCqEntries;
  if (int r = io_uring_queue_init_params(kSqEntries, &ring, &p); r != 0) {
    std::fprintf(stderr, "raw_uring_mshot_echo: io_uring setup: %s\n", std::strerror(-r));
    return 1;
  }

  // The provided buffer ring (liburing 2.3 has no io_uring_setup_buf_ring: map and register it).
  const std::size_t ring_bytes = kBufCount * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* bufmem = mmap(nullptr, static_cast<std::size_t>(kBufCount) * kBufSize, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED || bufmem == MAP_FAILED) {
    std::perror("raw_uring_mshot_echo: mmap");
    return 1;
  }
  br = static_cast<io_uring_buf_ring*>(mem);
  buffers = static_cast<char*>(bufmem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(br);
  reg.ring_entries = kBufCount;
  reg.bgid = kBufGroup;
  if (int r = io_uring_register_buf_ring(&ring, &reg, 0); r != 0) {
    std::fprintf(stderr, "raw_uring_mshot_echo: register_buf_ring: %s\n", std::strerror(-r));
    return 1;
  }
  io_uring_buf_ring_init(br);
  for (unsigned i = 0; i < kBufCount; ++i) give_back(static_cast<unsigned short>(i));
  io_uring_buf_ring_advance(br, static_cast<int>(returned));
  returned = 0;

  lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 4096) != 0) {
    std::perror("raw_uring_mshot_echo: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen);
  std::printf("raw_uring_mshot_echo: listening on 127.0.0.1:%u\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  arm_accept();
  signalfd_siginfo info;
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, sigfd, &info, sizeof info, 0);
  io_uring_sqe_set_data64(s, tag(kSignal, nullptr));
  __kernel_timespec retry{.tv_sec = 0, .tv_nsec = 10'000'000};
  unsigned long accepted = 0;

  for (bool running = true; running;) {
    io_uring_submit_and_wait(&ring, 1);
    io_uring_cqe* cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++n;
      const auto kind = static_cast<Kind>(cqe->user_data & 7);
      auto* c = reinterpret_cast<Conn*>(cqe->user_data & ~std::uint64_t{7});
      switch (kind) {
        case kSignal:
          running = false;
          break;
        case kAccept:
          if (cqe->res >= 0) {
            ++accepted;
            setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            arm_recv(new Conn(cqe->res));
          } else if (errors_printed++ < kErrorsPrinted) {
            std::fprintf(stderr, "raw_uring_mshot_echo: accept: %s\n", std::strerror(-cqe->res));
          }
          if (!(cqe->flags & IORING_CQE_F_MORE)) {
            if (cqe->res == -EMFILE || cqe->res == -ENFILE || cqe->res == -ENOMEM) {
              io_uring_sqe* t = sqe();  // out of fds: retry later rather than spin on the error
              io_uring_prep_timeout(t, &retry, 0, 0);
              io_uring_sqe_set_data64(t, tag(kAcceptRetry, nullptr));
            } else {
              arm_accept();
            }
          }
          break;
        case kAcceptRetry:
          arm_accept();
          break;
        case kRecv:
          on_recv(c, cqe);
          break;
        case kSend:
          on_send(c, cqe);
          break;
      }
    }
    io_uring_cq_advance(&ring, n);
    if (returned > 0) {
      io_uring_buf_ring_advance(br, static_cast<int>(returned));
      returned = 0;
      // Buffers are back: the connections whose recv ran dry may re-arm now.
      std::vector<Conn*> retry_list;
      retry_list.swap(starved);
      for (Conn* sc : retry_list) {
        sc->starved = false;
        if (sc->closing) {
          maybe_free(sc);
        } else {
          arm_recv(sc);
        }
      }
    }
  }
  std::printf("raw_uring_mshot_echo: stopping after %lu connections\n", accepted);
  io_uring_queue_exit(&ring);
  return 0;
}
