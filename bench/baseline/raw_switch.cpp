#include "raw_switch.hpp"

#include <boost/context/fiber.hpp>

#include <chrono>

namespace weft::bench {

double raw_switch_ns(std::uint64_t switches) {
  namespace ctx = boost::context;
  const std::uint64_t rounds = switches / 2;
  ctx::fiber other{[](ctx::fiber&& back) {
    for (;;) back = std::move(back).resume();
    return std::move(back);
  }};
  other = std::move(other).resume();  // warm up: first entry
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < rounds; ++i) other = std::move(other).resume();  // two switches
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(2 * rounds);
}

}  // namespace weft::bench
