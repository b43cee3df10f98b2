// echo_client: a load client for echo_server (the W5 workload).
//
//   echo_client --port N [--connections 64] [--size 64] [--seconds 5] [--workers N]
//
// Opens the connections to 127.0.0.1:N, then each one, in its own fiber, sends `size` bytes and
// waits for the full echo, again and again until the time is up. Prints round trips per second
// and the p50/p99 latency of a round trip, one result per line:
//   w5_echo weft-client round_trips_per_s=... rt/s
// Exits 1 if a connection fails or an echo comes back wrong.
#include "flags.hpp"

#include <weft/weft.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Outcome {
  std::vector<std::uint32_t> latencies_ns;
  bool ok = true;
};

Outcome run_connection(unsigned short port, std::size_t size, Clock::time_point until) {
  Outcome out;
  out.latencies_ns.reserve(1 << 16);
  auto conn = weft::io::TcpStream::connect("127.0.0.1", port);
  if (!conn) {
    out.ok = false;
    return out;
  }
  std::vector<std::byte> msg(size), back(size);
  for (std::size_t i = 0; i < size; ++i) msg[i] = static_cast<std::byte>(i * 7 + 1);
  while (Clock::now() < until) {
    const auto t0 = Clock::now();
    if (!conn->write_all(msg) || !conn->read_exact(back) || back != msg) {
      out.ok = false;
      break;
    }
    out.latencies_ns.push_back(static_cast<std::uint32_t>(
        std::min<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count(), UINT32_MAX)));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<unsigned short>(weft::examples::flag(argc, argv, "--port", 0));
  const auto connections = weft::examples::flag(argc, argv, "--connections", 64);
  const auto size = weft::examples::flag(argc, argv, "--size", 64);
  const auto seconds = weft::examples::flag(argc, argv, "--seconds", 5);
  const auto workers = static_cast<unsigned>(weft::examples::flag(argc, argv, "--workers", 0));
  if (port == 0 || connections == 0 || size == 0) {
    std::fprintf(stderr, "echo_client: --port is required; --connections and --size must be > 0\n");
    return 2;
  }

  weft::Runtime rt{weft::Config{.workers = workers}};
  const auto start = Clock::now();
  const auto until = start + std::chrono::seconds(seconds);
  std::vector<weft::JoinHandle<Outcome>> conns;
  for (unsigned long i = 0; i < connections; ++i) conns.push_back(rt.spawn(run_connection, port, size, until));
  std::vector<std::uint32_t> all;
  bool ok = true;
  for (auto& c : conns) {
    Outcome o = c.join();
    ok = ok && o.ok;
    all.insert(all.end(), o.latencies_ns.begin(), o.latencies_ns.end());
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (!ok || all.empty()) {
    std::fprintf(stderr, "echo_client: a connection failed or echoed wrong data\n");
    return 1;
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[static_cast<std::size_t>(p * static_cast<double>(all.size() - 1))] / 1000.0; };
  std::printf("w5_echo weft-client round_trips_per_s=%.4g rt/s\n", static_cast<double>(all.size()) / elapsed);
  std::printf("w5_echo weft-client p50_latency=%.4g us\n", pct(0.50));
  std::printf("w5_echo weft-client p99_latency=%.4g us\n", pct(0.99));
  return 0;
}
