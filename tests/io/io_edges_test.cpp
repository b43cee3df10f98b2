// The edges of the operations' arguments (huge lengths, a write that makes no progress, fd -1,
// offsets on pipes and FIFOs, n = 0), the same on both backends.
#include <weft/io/file.hpp>
#include <weft/io/ops.hpp>
#include <weft/io/pipe.hpp>

#include "support/test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>

namespace weft {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::error_code kEbadf(EBADF, std::system_category());

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// Generous: a deadline the operation must not need.
Clock::time_point far_deadline() { return Clock::now() + 60s; }

// ---- argument edges ------------------------------------------------------------------------------

class IoEdges : public test::WorkerCountTest {};

// A span of `len` bytes of address space, not backed until touched.
struct Reserved {
  std::size_t len;
  std::byte* p;
  explicit Reserved(std::size_t n)
      : len(n),
        p(static_cast<std::byte*>(::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                                         -1, 0))) {}
  ~Reserved() {
    if (p != MAP_FAILED) ::munmap(p, len);
  }
  bool ok() const { return p != MAP_FAILED; }
  std::span<std::byte> span() const { return {p, len}; }
};

TEST_P(IoEdges, LengthsOfTwoGigabytesAndMore) {
  Runtime rt{config()};
  rt.block_on([] {
    constexpr std::size_t kGiB = std::size_t{1} << 30;
    for (const std::size_t len : {4 * kGiB, 3 * kGiB, 4 * kGiB - 1}) {
      Reserved big(len);
      if (!big.ok()) GTEST_SKIP() << "cannot reserve " << len << " bytes of address space";
      std::memcpy(big.p, "abcd", 4);  // what the send side queues first
      int s[2], p[2];
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
      ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
      // Sends and writes take what fits (the socket buffer, the pipe) and say how much.
      auto sent = io::send(s[0], big.span());
      ASSERT_TRUE(sent) << len << ": " << sent.error().message();
      EXPECT_GT(*sent, 0u) << len;
      auto written = io::write(p[1], big.span());
      ASSERT_TRUE(written) << len << ": " << written.error().message();
      EXPECT_GT(*written, 0u) << len;
      std::array<std::byte, 4> head{};
      ASSERT_EQ(::recv(s[1], head.data(), 4, 0), 4);
      EXPECT_EQ(std::memcmp(head.data(), "abcd", 4), 0);
      ASSERT_EQ(::read(p[0], head.data(), 4), 4);
      EXPECT_EQ(std::memcmp(head.data(), "abcd", 4), 0);
      // Receives and reads into the huge span get the little that is queued.
      int t[2], q[2];
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, t), 0);
      ASSERT_EQ(::pipe2(q, O_CLOEXEC), 0);
      ASSERT_EQ(::send(t[1], "wxyz", 4, 0), 4);
      ASSERT_EQ(::write(q[1], "wxyz", 4), 4);
      auto got = io::recv(t[0], big.span());
      ASSERT_TRUE(got) << len << ": " << got.error().message();
      EXPECT_EQ(*got, 4u) << len;
      auto read = io::read(q[0], big.span());
      ASSERT_TRUE(read) << len << ": " << read.error().message();
      EXPECT_EQ(*read, 4u) << len;
      EXPECT_EQ(std::memcmp(big.p, "wxyz", 4), 0);
      for (int fd : {s[0], s[1], p[0], p[1], t[0], t[1], q[0], q[1]}) ::close(fd);
    }
  });
}

// A write that makes no progress (returns 0) ends write_all with an error instead of looping. A
// virtual console's screen memory (/dev/vcs, root only) takes nothing at its end: a write there
// returns 0 and changes nothing.
TEST_P(IoEdges, WriteAllFailsWhenAWriteMakesNoProgress) {
  Runtime rt{config()};
  const int probe = ::open("/dev/vcs", O_WRONLY | O_CLOEXEC);
  if (probe < 0) GTEST_SKIP() << "needs /dev/vcs open for writing: " << std::strerror(errno);
  const off_t end = ::lseek(probe, 0, SEEK_END);
  ::close(probe);
  if (end <= 0) GTEST_SKIP() << "/dev/vcs has no size";
  rt.block_on([&] {
    auto f = io::File::open("/dev/vcs", O_WRONLY).value();
    auto r = f.write_all_at(bytes("x"), static_cast<std::uint64_t>(end));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::io_error) << r.error().message();
    const int raw = ::open("/dev/vcs", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(raw, 0);
    ASSERT_EQ(::lseek(raw, end, SEEK_SET), end);
    io::Pipe at_end(raw);  // any fd: at its position every write returns 0
    auto s = at_end.write_all(bytes("x"));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), std::errc::io_error) << s.error().message();
  });
}

TEST_P(IoEdges, PollOnFdMinusOneIsEbadf) {
  Runtime rt{config()};
  rt.block_on([] {
    auto r = io::poll(-1, POLLIN);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), kEbadf);
    auto t = io::poll_until(-1, POLLIN, far_deadline());
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), kEbadf);
  });
}

// Positional IO on an fd without a file position fails with ESPIPE on both backends, as pread(2)
// does, and takes nothing from the pipe nor adds to it (io_uring alone would ignore the offset).
TEST_P(IoEdges, PositionalIoOnAPipeIsEspipe) {
  Runtime rt{config()};
  rt.block_on([] {
    const std::error_code espipe(ESPIPE, std::system_category());
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    ASSERT_EQ(::write(p[1], "data", 4), 4);
    std::array<std::byte, 4> buf{};
    auto r = io::read_at(p[0], buf, 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), espipe);
    auto w = io::write_at(p[1], bytes("more"), 0);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error(), espipe);
    const iovec in{buf.data(), buf.size()};
    auto rv = io::readv(p[0], std::span(&in, 1), 0);
    ASSERT_FALSE(rv);
    EXPECT_EQ(rv.error(), espipe);
    char more[] = "more";
    const iovec out{more, 4};
    auto wv = io::writev(p[1], std::span(&out, 1), 0);
    ASSERT_FALSE(wv);
    EXPECT_EQ(wv.error(), espipe);
    EXPECT_EQ(io::read(p[0], buf).value(), 4u);  // nothing was taken from or added to the pipe
    EXPECT_EQ(std::memcmp(buf.data(), "data", 4), 0);
    ::close(p[1]);
    EXPECT_EQ(io::read(p[0], buf).value(), 0u);
    ::close(p[0]);
  });
}

// A File opened on a FIFO has no position either: its positional calls fail the same way.
TEST_P(IoEdges, PositionalIoOnAFifoFileIsEspipe) {
  Runtime rt{config()};
  char dir[] = "/tmp/weft-fifo-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  rt.block_on([&] {
    const std::error_code espipe(ESPIPE, std::system_category());
    auto f = io::File::open(path.c_str(), O_RDWR).value();  // O_RDWR: a FIFO open that does not wait
    EXPECT_EQ(f.write(bytes("data")).value(), 4u);
    std::array<std::byte, 4> buf{};
    auto r = f.read_at(buf, 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), espipe);
    auto w = f.write_at(bytes("more"), 0);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error(), espipe);
    EXPECT_EQ(f.read(buf).value(), 4u);
    EXPECT_EQ(std::memcmp(buf.data(), "data", 4), 0);
  });
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST_P(IoEdges, EventfdNotifyZeroIsEinvalInTheSystemCategory) {
  Runtime rt{config()};
  rt.block_on([] {
    const int efd = ::eventfd(0, EFD_CLOEXEC);
    ASSERT_GE(efd, 0);
    auto r = io::eventfd_notify(efd, 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::error_code(EINVAL, std::system_category()));
    EXPECT_EQ(&r.error().category(), &std::system_category());
    ::close(efd);
  });
}

INSTANTIATE_WORKER_COUNTS(IoEdges);

}  // namespace
}  // namespace weft
