// weft/io/backend.hpp: which IO backend the workers run, and how it is chosen.
//
// Two backends give the same operations with the same semantics: io_uring (the default: batched
// submission, fewest syscalls) and epoll (readiness plus a blocking pool; for kernels, containers
// and sandboxes where io_uring is refused). Backend::automatic probes once per process: when
// io_uring_setup fails with ENOSYS, EPERM, EOPNOTSUPP or ENOMEM, or the kernel lacks an opcode weft
// needs, it prints exactly one line to stderr naming the reason (with kernel.io_uring_disabled
// when that is set) and picks epoll. The WEFT_BACKEND environment variable (auto, io_uring, epoll)
// overrides the requested backend. A backend requested by name that is unavailable is an error,
// never a silent fallback.
//
// Thread-safety: all functions are safe from any thread; the probe runs once.
//
//   weft::io::Backend b = weft::io::select_backend(weft::io::Backend::automatic);
//   std::puts(weft::io::to_string(b).data());   // "io_uring" or "epoll"
#pragma once

#include <weft/sched/driver.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace weft::io {

enum class Backend : std::uint8_t { automatic, io_uring, epoll };

// to_string: "auto", "io_uring", "epoll".
std::string_view to_string(Backend b) noexcept;
// parse_backend: the inverse of to_string ("uring" is accepted too); nullopt for anything else.
std::optional<Backend> parse_backend(std::string_view name) noexcept;

// select_backend: the backend to run for `requested`, after WEFT_BACKEND. Never returns
// automatic. Throws std::system_error: EINVAL for a WEFT_BACKEND value it does not know; the
// errno of io_uring_setup (or ENOTSUP for a missing opcode) when io_uring is requested by name
// and unavailable.
Backend select_backend(Backend requested);

// backend_driver_factory: builds worker drivers of `b` (io_uring or epoll).
sched::DriverFactory backend_driver_factory(Backend b);

}  // namespace weft::io
