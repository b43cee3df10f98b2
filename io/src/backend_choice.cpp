// backend_choice.cpp: the one place that decides between the io_uring and epoll backends.
#include <weft/io/backend.hpp>
#include <weft/io/epoll_driver.hpp>
#include <weft/io/uring_driver.hpp>

#include <liburing.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>

namespace weft::io {
namespace {

// The opcodes the io_uring backend submits natively; a kernel without one of them gets epoll.
constexpr struct {
  int op;
  const char* name;
} kRequired[] = {
    {IORING_OP_NOP, "NOP"},           {IORING_OP_READ, "READ"},         {IORING_OP_WRITE, "WRITE"},
    {IORING_OP_READV, "READV"},       {IORING_OP_WRITEV, "WRITEV"},     {IORING_OP_RECV, "RECV"},
    {IORING_OP_SEND, "SEND"},         {IORING_OP_RECVMSG, "RECVMSG"},   {IORING_OP_SENDMSG, "SENDMSG"},
    {IORING_OP_ACCEPT, "ACCEPT"},     {IORING_OP_CONNECT, "CONNECT"},   {IORING_OP_POLL_ADD, "POLL_ADD"},
    {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"}, {IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT"},
    {IORING_OP_OPENAT, "OPENAT"},     {IORING_OP_CLOSE, "CLOSE"},       {IORING_OP_STATX, "STATX"},
    {IORING_OP_FSYNC, "FSYNC"},       {IORING_OP_FALLOCATE, "FALLOCATE"}, {IORING_OP_RENAMEAT, "RENAMEAT"},
    {IORING_OP_UNLINKAT, "UNLINKAT"}, {IORING_OP_MKDIRAT, "MKDIRAT"},   {IORING_OP_SYMLINKAT, "SYMLINKAT"},
    {IORING_OP_LINKAT, "LINKAT"},     {IORING_OP_SPLICE, "SPLICE"},     {IORING_OP_TEE, "TEE"},
    {IORING_OP_SHUTDOWN, "SHUTDOWN"}, {IORING_OP_SOCKET, "SOCKET"},
};

struct Probe {
  bool available = true;
  std::error_code error;  // why not
  std::string reason;     // for the log line and the exception
};

// io_uring_disabled: the sysctl's value when it is set (non-zero), else empty.
std::string io_uring_disabled() {
  std::ifstream f("/proc/sys/kernel/io_uring_disabled");
  int v = 0;
  if (f >> v && v != 0) return "; kernel.io_uring_disabled=" + std::to_string(v);
  return {};
}

Probe run_probe() {
  Probe p;
  io_uring ring{};
  const int rc = io_uring_queue_init(4, &ring, 0);
  if (rc < 0) {
    p.available = false;
    p.error = std::error_code(-rc, std::system_category());
    p.reason = "io_uring_setup: " + p.error.message() + io_uring_disabled();
    return p;
  }
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  for (const auto& r : kRequired) {
    if (probe && io_uring_opcode_supported(probe, r.op)) continue;
    p.available = false;
    p.error = std::make_error_code(std::errc::not_supported);
    p.reason = std::string("the kernel's io_uring lacks IORING_OP_") + r.name;
    break;
  }
  if (probe) io_uring_free_probe(probe);
  io_uring_queue_exit(&ring);
  return p;
}

const Probe& probe() {
  static const Probe p = run_probe();
  return p;
}

}  // namespace

std::string_view to_string(Backend b) noexcept {
  switch (b) {
    case Backend::automatic: return "auto";
    case Backend::io_uring: return "io_uring";
    case Backend::epoll: return "epoll";
  }
  return "?";
}

std::optional<Backend> parse_backend(std::string_view name) noexcept {
  if (name == "auto") return Backend::automatic;
  if (name == "io_uring" || name == "uring") return Backend::io_uring;
  if (name == "epoll") return Backend::epoll;
  return std::nullopt;
}

Backend select_backend(Backend requested) {
  if (const char* env = std::getenv("WEFT_BACKEND"); env && *env) {
    const auto b = parse_backend(env);
    if (!b) {
      throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                              std::string("weft: WEFT_BACKEND=") + env + " (expected auto, io_uring or epoll)");
    }
    requested = *b;
  }
  if (requested == Backend::epoll) return Backend::epoll;
  const Probe& p = probe();
  if (requested == Backend::io_uring) {
    if (!p.available) throw std::system_error(p.error, "weft: the io_uring backend is unavailable (" + p.reason + ")");
    return Backend::io_uring;
  }
  if (p.available) return Backend::io_uring;
  static const bool logged = [&] {
    std::fprintf(stderr, "weft: io_uring unavailable (%s); using the epoll backend\n", p.reason.c_str());
    return true;
  }();
  (void)logged;
  return Backend::epoll;
}

sched::DriverFactory backend_driver_factory(Backend b) {
  if (b == Backend::epoll) return [](unsigned) { return make_epoll_driver(); };
  return [](unsigned) { return make_uring_driver(UringOptions{}); };
}

}  // namespace weft::io
