// Filesystem, socket-setup and zero-copy operations: success and error paths of statx, fallocate,
// ftruncate, mkdirat, renameat, symlinkat, linkat, unlinkat, socket/bind/listen/shutdown,
// sendmsg/recvmsg, splice and tee.
#include <weft/io/ops.hpp>

#include "support/test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <string>

namespace weft {
namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// A fresh scratch directory, removed with everything in it afterwards.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    char tmpl[] = "/tmp/weft-fs-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~ScratchDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

class IoFs : public test::WorkerCountTest {};

TEST_P(IoFs, DirectoryEntriesLifecycle) {
  Runtime rt{config()};
  ScratchDir dir;
  rt.block_on([&] {
    const std::string sub = dir / "sub", a = dir / "a", b = dir / "b", sym = dir / "sym", hard = dir / "hard";
    EXPECT_TRUE(io::mkdirat(AT_FDCWD, sub.c_str(), 0755));
    auto again = io::mkdirat(AT_FDCWD, sub.c_str(), 0755);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), std::errc::file_exists);

    int fd = io::openat(AT_FDCWD, a.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644).value();
    EXPECT_EQ(io::write(fd, bytes("data")).value(), 4u);
    struct statx st {};
    EXPECT_TRUE(io::statx(AT_FDCWD, a.c_str(), 0, STATX_SIZE, &st));
    EXPECT_EQ(st.stx_size, 4u);
    EXPECT_TRUE(io::fallocate(fd, 0, 0, 8192));
    EXPECT_TRUE(io::statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &st));
    EXPECT_EQ(st.stx_size, 8192u);
    EXPECT_TRUE(io::ftruncate(fd, 2));
    EXPECT_TRUE(io::statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &st));
    EXPECT_EQ(st.stx_size, 2u);
    EXPECT_TRUE(io::close(fd));

    EXPECT_TRUE(io::renameat(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str()));
    auto gone = io::statx(AT_FDCWD, a.c_str(), 0, STATX_SIZE, &st);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error(), std::errc::no_such_file_or_directory);
    EXPECT_TRUE(io::symlinkat(b.c_str(), AT_FDCWD, sym.c_str()));
    EXPECT_TRUE(io::linkat(AT_FDCWD, b.c_str(), AT_FDCWD, hard.c_str()));
    EXPECT_TRUE(io::statx(AT_FDCWD, sym.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &st));
    EXPECT_TRUE(S_ISLNK(st.stx_mode));
    EXPECT_TRUE(io::statx(AT_FDCWD, hard.c_str(), 0, STATX_NLINK, &st));
    EXPECT_EQ(st.stx_nlink, 2u);

    auto not_empty = io::unlinkat(AT_FDCWD, dir.path.c_str(), AT_REMOVEDIR);
    ASSERT_FALSE(not_empty);
    EXPECT_EQ(not_empty.error(), std::errc::directory_not_empty);
    for (const auto& p : {sym, hard, b}) EXPECT_TRUE(io::unlinkat(AT_FDCWD, p.c_str()));
    EXPECT_TRUE(io::unlinkat(AT_FDCWD, sub.c_str(), AT_REMOVEDIR));
    auto missing = io::unlinkat(AT_FDCWD, b.c_str());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error(), std::errc::no_such_file_or_directory);
    auto bad = io::ftruncate(-1, 0);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), std::errc::bad_file_descriptor);
  });
}

TEST_P(IoFs, SocketSetupMessagesAndShutdown) {
  Runtime rt{config()};
  rt.block_on([] {
    int l = io::socket(AF_INET, SOCK_STREAM).value();
    EXPECT_TRUE(::fcntl(l, F_GETFD) & FD_CLOEXEC);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_TRUE(io::bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    socklen_t len = sizeof addr;
    ::getsockname(l, reinterpret_cast<sockaddr*>(&addr), &len);
    auto rebind = io::bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ASSERT_FALSE(rebind);
    EXPECT_EQ(rebind.error(), std::errc::invalid_argument);
    EXPECT_TRUE(io::listen(l, 16));
    auto bad_domain = io::socket(12345, SOCK_STREAM);
    ASSERT_FALSE(bad_domain);
    EXPECT_EQ(bad_domain.error(), std::errc::address_family_not_supported);

    int c = io::socket(AF_INET, SOCK_STREAM).value();
    auto acceptor = spawn([l] { return io::accept(l); });
    EXPECT_TRUE(io::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
    int s = acceptor.join().value();

    char part1[] = "hello ", part2[] = "world";
    iovec out[2] = {{part1, 6}, {part2, 5}};
    msghdr m{};
    m.msg_iov = out;
    m.msg_iovlen = 2;
    EXPECT_EQ(io::sendmsg(c, &m).value(), 11u);
    EXPECT_TRUE(io::shutdown(c, SHUT_WR));
    char in[32] = {};
    iovec iv[1] = {{in, sizeof in}};
    msghdr r{};
    r.msg_iov = iv;
    r.msg_iovlen = 1;
    std::size_t got = 0;
    for (;;) {
      r.msg_iov[0] = iovec{in + got, sizeof in - got};
      const std::size_t n = io::recvmsg(s, &r).value();
      if (n == 0) break;  // the peer shut down its write side
      got += n;
    }
    EXPECT_EQ(std::string(in, got), "hello world");
    int fresh = io::socket(AF_INET, SOCK_STREAM).value();
    auto not_conn = io::shutdown(fresh, SHUT_RDWR);
    ASSERT_FALSE(not_conn);
    EXPECT_EQ(not_conn.error(), std::errc::not_connected);
    for (int fd : {c, s, l, fresh}) EXPECT_TRUE(io::close(fd));
  });
}

TEST_P(IoFs, SpliceAndTeeMoveBytesBetweenPipes) {
  Runtime rt{config()};
  rt.block_on([] {
    int a[2], b[2];
    ASSERT_EQ(::pipe2(a, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(b, O_CLOEXEC), 0);
    EXPECT_EQ(io::write(a[1], bytes("spliced")).value(), 7u);
    EXPECT_EQ(io::tee(a[0], b[1], 7).value(), 7u);  // copy, a keeps its data
    std::array<std::byte, 16> buf{};
    EXPECT_EQ(io::read(b[0], buf).value(), 7u);
    EXPECT_EQ(io::splice(a[0], -1, b[1], -1, 7).value(), 7u);  // move
    EXPECT_EQ(io::read(b[0], buf).value(), 7u);
    auto bad = io::splice(a[0], -1, -1, -1, 1);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), std::errc::bad_file_descriptor);
    for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
  });
}

INSTANTIATE_WORKER_COUNTS(IoFs);

}  // namespace
}  // namespace weft
