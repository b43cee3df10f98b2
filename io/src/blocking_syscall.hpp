// blocking_syscall.hpp: an operation's description (op_desc.hpp) run as its blocking system call,
// the translation shared by every place that runs the syscall itself rather than a backend: the
// operations that never wait (runs_inline: bind, listen, ftruncate) on every backend, epoll's
// operations that cannot block (socket, shutdown, close), and what epoll hands the blocking pool
// (file system calls, reads and writes of files whose data is not cached).
//
// Thread-safety: any thread; the pointers in the description must be valid (they are until the
// operation's final completion).
#pragma once

#include "op_desc.hpp"

namespace weft::io {

// blocking_syscall: runs `d`; returns the result (>= 0) or -errno. -EOPNOTSUPP for the kinds that
// only ever wait for readiness (recv, send, accept, connect, poll, ...).
int blocking_syscall(const OpDesc& d) noexcept;

}  // namespace weft::io
