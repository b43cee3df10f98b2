// latency_client: the load side of the W8 tail-latency and fairness benchmark (bench/latency.sh).
// A plain program, on purpose: it does not run on weft, so weft's scheduler cannot order its
// requests and hide an unfair server. One thread, one epoll set, level-triggered.
//
//   latency_client --port N [--connections 64] [--size 512] [--seconds 5] [--warmup 1]
//                  [--label NAME]
//
// Opens N connections to 127.0.0.1:N; each keeps exactly one message of `size` bytes in flight:
// send it, read the whole echo back (checked byte for byte), record the round trip, send again.
// Prints one line:
//   w8_latency NAME conns=1000 size=512 rt_per_s=... p50_us=... p99_us=... p999_us=...
//              max_us=... least_served=0.93 errors=0
// least_served is the fewest round trips one connection completed in the measured window over the
// mean per connection: 1 for a fair server, 0 when some connection was never answered.
//
// Invariants:
// - Only round trips that complete inside the measured window count, both for the latency
//   histogram and for the per-connection counts; the warmup starts once every connection has
//   completed one round trip (so a server that accepts slowly is not measured while accepting).
// - At most kConnectBatch connections are between connect() and their first echo, so the
//   server's accept queue never overflows (an overflow would drop handshakes and bring in TCP's
//   one-second SYN retransmits).
// - A connection that is refused, reset or echoes wrong data is an error: it is counted in
//   errors=, reported on stderr, stops sending (so it drags least_served down) and the exit
//   status is 1. The program never waits unboundedly: setup has a deadline, the window ends on
//   the clock.
#include "flags.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kConnectBatch = 256;      // connections awaiting their first echo, at most
constexpr auto kSetupDeadline = std::chrono::seconds(60);
constexpr int kErrorsPrinted = 10;              // stderr lines per kind of failure, at most

// Histogram: log-linear buckets over nanoseconds, 128 per power of two, so a bucket is at most
// 1/128 of its value wide and a percentile read at a bucket's midpoint is within 0.4%. Values
// below 256 ns have a bucket each. Memory is fixed (about 60 KiB up to 2^62 ns), whatever the run
// length, which storing every sample would not be.
class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr std::uint64_t kSub = 1u << kSubBits;

  void record(std::uint64_t ns) {
    ++counts_[index(ns)];
    ++total_;
    max_ = std::max(max_, ns);
  }
  std::uint64_t total() const { return total_; }
  std::uint64_t max() const { return max_; }

  // percentile: the value at rank ceil(p * total), as its bucket's midpoint (never above max).
  double percentile(double p) const {
    if (total_ == 0) return 0;
    const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(p * static_cast<double>(total_) + 0.999999));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const auto [lo, hi] = bounds(i);
        return std::min(static_cast<double>(lo + hi) / 2, static_cast<double>(max_));
      }
    }
    return static_cast<double>(max_);
  }

 private:
  // Exact buckets below 2 * kSub, then kSub per power of two for exponents kSubBits + 1 .. 62.
  static constexpr std::size_t kBuckets = 2 * kSub + (63 - (kSubBits + 1)) * kSub;

  static std::size_t index(std::uint64_t v) {
    if (v < 2 * kSub) return static_cast<std::size_t>(v);
    const int e = std::bit_width(v) - 1;  // >= kSubBits + 1
    const int shift = e - kSubBits;
    const std::uint64_t mantissa = v >> shift;  // in [kSub, 2 * kSub)
    const std::size_t i = 2 * kSub + static_cast<std::size_t>(e - kSubBits - 1) * kSub + (mantissa - kSub);
    return std::min(i, kBuckets - 1);
  }
  static std::pair<std::uint64_t, std::uint64_t> bounds(std::size_t i) {
    if (i < 2 * kSub) return {i, i};
    const std::size_t e = (i - 2 * kSub) / kSub + kSubBits + 1;
    const std::uint64_t mantissa = (i - 2 * kSub) % kSub + kSub;
    const std::size_t shift = e - kSubBits;
    return {mantissa << shift, ((mantissa + 1) << shift) - 1};
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

enum class State : unsigned char { kIdle, kConnecting, kSending, kReceiving, kFailed };

struct Conn {
  int fd = -1;
  State state = State::kIdle;
  bool greeted = false;       // has completed its first round trip
  std::size_t sent = 0;       // bytes of the current message written
  std::size_t received = 0;   // bytes of its echo read
  Clock::time_point t0;       // when the current message's first byte was written
  std::uint64_t counted = 0;  // round trips completed inside the measured window
};

struct Client {
  int ep = -1;
  std::size_t size = 0;
  std::vector<Conn> conns;
  std::vector<std::byte> msg, back;
  Histogram hist;
  Clock::time_point window_start = Clock::time_point::max(), window_end = Clock::time_point::max();
  std::size_t greeted = 0, failed_first = 0, pending_first = 0, opened = 0;
  unsigned long errors = 0;
  int printed = 0;

  void fail(std::size_t i, const char* what, int err) {
    Conn& c = conns[i];
    if (c.state == State::kFailed) return;
    if (!c.greeted) {
      --pending_first;
      ++failed_first;
    }
    c.state = State::kFailed;
    ++errors;
    if (printed++ < kErrorsPrinted) {
      std::fprintf(stderr, "latency_client: connection %zu: %s: %s\n", i, what, err ? std::strerror(err) : "wrong data");
    }
    ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
  }

  void watch(std::size_t i, std::uint32_t events, int op) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    if (::epoll_ctl(ep, op, conns[i].fd, &ev) != 0) fail(i, "epoll_ctl", errno);
  }

  // open: starts a non-blocking connect for connection i. Returns false only when the fd limit
  // is hit, which ends the program (the count asked for cannot be reached).
  bool open(std::size_t i, const sockaddr_in& addr) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      std::fprintf(stderr, "latency_client: socket for connection %zu of %zu: %s (RLIMIT_NOFILE or fs.file-max)\n", i + 1,
                   conns.size(), std::strerror(errno));
      return false;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Conn& c = conns[i];
    c.fd = fd;
    ++opened;
    ++pending_first;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
      c.state = State::kSending;
      watch(i, EPOLLIN, EPOLL_CTL_ADD);
      start_message(i);
    } else if (errno == EINPROGRESS) {
      c.state = State::kConnecting;
      watch(i, EPOLLOUT, EPOLL_CTL_ADD);
    } else {
      fail(i, "connect", errno);
    }
    return true;
  }

  void start_message(std::size_t i) {
    Conn& c = conns[i];
    c.sent = c.received = 0;
    c.t0 = Clock::now();
    c.state = State::kSending;
    write_some(i);
  }

  void write_some(std::size_t i) {
    Conn& c = conns[i];
    while (c.sent < size) {
      const ssize_t n = ::send(c.fd, msg.data() + c.sent, size - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        watch(i, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);  // rare: 512 B fit the socket buffer
        return;
      } else {
        fail(i, "send", n < 0 ? errno : EPIPE);
        return;
      }
    }
    c.state = State::kReceiving;
  }

  // on_event: one readiness event (epoll's `events`) for connection i.
  void on_event(std::size_t i, std::uint32_t events) {
    Conn& c = conns[i];
    switch (c.state) {
      case State::kConnecting: {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) return fail(i, "connect", err);
        watch(i, EPOLLIN, EPOLL_CTL_MOD);
        start_message(i);
        return;
      }
      case State::kSending:
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
          write_some(i);
          if (c.state == State::kReceiving) watch(i, EPOLLIN, EPOLL_CTL_MOD);
        }
        if (c.state != State::kReceiving || !(events & EPOLLIN)) return;
        [[fallthrough]];
      case State::kReceiving:
        read_some(i);
        return;
      case State::kIdle:
      case State::kFailed:
        return;
    }
  }

  void read_some(std::size_t i) {
    Conn& c = conns[i];
    // A peer that sends more than it was sent (or before) is wrong data: read at most what is due.
    const ssize_t n = ::recv(c.fd, back.data() + c.received, size - c.received, 0);
    if (n == 0) return fail(i, "recv", ECONNRESET);  // closed by the server
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      return fail(i, "recv", errno);
    }
    c.received += static_cast<std::size_t>(n);
    if (c.received < size) return;
    const auto t1 = Clock::now();
    if (std::memcmp(back.data(), msg.data(), size) != 0) return fail(i, "echo", 0);
    if (t1 >= window_start && t1 < window_end) {
      hist.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - c.t0).count()));
      ++c.counted;
    }
    if (!c.greeted) {
      c.greeted = true;
      ++greeted;
      --pending_first;
    }
    if (t1 < window_end) start_message(i);
  }
};

// raise_fd_limit: the soft RLIMIT_NOFILE up to the hard one; the connections plus a few fds must fit.
bool raise_fd_limit(std::size_t needed) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
    std::fprintf(stderr, "latency_client: %zu connections need %zu fds, RLIMIT_NOFILE hard limit is %llu (raise ulimit -n)\n",
                 needed - 16, needed, static_cast<unsigned long long>(lim.rlim_cur));
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  namespace ex = weft::examples;
  ex::positional(argc, argv, {"--port", "--connections", "--size", "--seconds", "--warmup", "--label"});
  const auto port = ex::flag(argc, argv, "--port", 0);
  const auto connections = static_cast<std::size_t>(ex::flag(argc, argv, "--connections", 64));
  const auto size = static_cast<std::size_t>(ex::flag(argc, argv, "--size", 512));
  const auto seconds = ex::flag(argc, argv, "--seconds", 5);
  const auto warmup = ex::flag(argc, argv, "--warmup", 1);
  const std::string label = ex::text_flag(argc, argv, "--label", "unnamed");
  if (port == 0 || port > 65535 || connections == 0 || size == 0 || seconds == 0) {
    std::fprintf(stderr, "latency_client: --port is required; --connections, --size and --seconds must be > 0\n");
    return 2;
  }
  if (!raise_fd_limit(connections + 16)) return 1;

  Client cl;
  cl.size = size;
  cl.conns.resize(connections);
  cl.msg.resize(size);
  cl.back.resize(size);
  for (std::size_t i = 0; i < size; ++i) cl.msg[i] = static_cast<std::byte>(i * 7 + 1);
  cl.ep = ::epoll_create1(EPOLL_CLOEXEC);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  std::vector<epoll_event> events(1024);
  const auto setup_deadline = Clock::now() + kSetupDeadline;
  bool setup = true;
  while (true) {
    // Setup: keep up to kConnectBatch connections between connect() and their first echo.
    while (setup && cl.opened < connections && cl.pending_first < kConnectBatch) {
      if (!cl.open(cl.opened, addr)) return 1;
    }
    const auto now = Clock::now();
    if (setup && cl.opened == connections && cl.greeted + cl.failed_first == connections) {
      setup = false;
      cl.window_start = now + std::chrono::seconds(warmup);
      cl.window_end = cl.window_start + std::chrono::seconds(seconds);
    }
    if (setup && now >= setup_deadline) {
      std::fprintf(stderr, "latency_client: only %zu of %zu connections completed a round trip within %lld s\n",
                   cl.greeted, connections, static_cast<long long>(kSetupDeadline.count()));
      return 1;
    }
    if (!setup && now >= cl.window_end) break;
    if (!setup && cl.greeted == 0) break;  // every connection failed
    const auto until = setup ? setup_deadline : cl.window_end;
    const int timeout_ms =
        static_cast<int>(std::clamp<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1, 1, 1000));
    const int n = ::epoll_wait(cl.ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) {
      std::perror("latency_client: epoll_wait");
      return 1;
    }
    for (int k = 0; k < n; ++k) cl.on_event(events[static_cast<std::size_t>(k)].data.u64, events[static_cast<std::size_t>(k)].events);
  }

  std::uint64_t least = UINT64_MAX, sum = 0;
  for (const Conn& c : cl.conns) {
    least = std::min(least, c.counted);
    sum += c.counted;
    if (c.fd >= 0) ::close(c.fd);
  }
  const double mean = static_cast<double>(sum) / static_cast<double>(connections);
  const double window = static_cast<double>(seconds);
  std::printf(
      "w8_latency %s conns=%zu size=%zu rt_per_s=%.4g p50_us=%.4g p99_us=%.4g p999_us=%.4g max_us=%.4g "
      "least_served=%.3g errors=%lu\n",
      label.c_str(), connections, size, static_cast<double>(cl.hist.total()) / window, cl.hist.percentile(0.50) / 1e3,
      cl.hist.percentile(0.99) / 1e3, cl.hist.percentile(0.999) / 1e3, static_cast<double>(cl.hist.max()) / 1e3,
      mean > 0 ? static_cast<double>(least) / mean : 0.0, cl.errors);
  return cl.errors == 0 && cl.hist.total() > 0 ? 0 : 1;
}
