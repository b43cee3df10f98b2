// errno_result.hpp: the one conversion from the kernel's error convention to weft::Result: errors
// are the errno in std::system_category() (weft/sched/error.hpp).
//
// Thread-safety: pure functions; errno_error() reads the calling thread's errno, so call it right
// after the failed call, never across a suspension.
#pragma once

#include <weft/sched/error.hpp>

#include <cerrno>
#include <system_error>

namespace weft::io {

// errno_error: errno `e` (default: the calling thread's errno now) as an error_code.
inline std::error_code errno_error(int e = errno) noexcept { return {e, std::system_category()}; }

// syscall_result: `res` in the -errno convention (a CQE's res, blocking_syscall's return) as a
// Result: the value when >= 0, else the error.
inline Result<int> syscall_result(int res) {
  if (res < 0) return fail(errno_error(-res));
  return res;
}

}  // namespace weft::io
