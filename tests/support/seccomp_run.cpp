// weft_seccomp_run: runs a program with io_uring refused by a seccomp filter.
//
//   weft_seccomp_run EPERM|ENOSYS PROGRAM [ARGS...]
//
// EPERM is what Docker's default profile and kernel.io_uring_disabled=2 answer, ENOSYS what a
// kernel without io_uring answers. The suite runs under it with WEFT_BACKEND unset: everything must
// pass on the epoll fallback, which says why once.
#include "seccomp_filter.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s EPERM|ENOSYS PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  const std::string_view which = argv[1];
  const int err = which == "EPERM" ? EPERM : which == "ENOSYS" ? ENOSYS : 0;
  if (err == 0) {
    std::fprintf(stderr, "%s: the errno must be EPERM or ENOSYS, not '%s'\n", argv[0], argv[1]);
    return 2;
  }
  if (const int rc = weft::test::block_io_uring(err); rc != 0) {
    std::fprintf(stderr, "%s: installing the seccomp filter failed: %s\n", argv[0], std::strerror(rc));
    return 2;
  }
  ::execvp(argv[2], argv + 2);
  std::fprintf(stderr, "%s: cannot run %s: %s\n", argv[0], argv[2], std::strerror(errno));
  return 127;
}
