// raw_nop.hpp: the limit for weft's NOP throughput: a plain liburing loop on one thread, no
// runtime, that queues `batch` NOPs, submits them with one io_uring_enter and reaps them.
#pragma once

#include <cstdint>

namespace weft::bench {

// raw_nop_per_s: NOPs per second over `total` NOPs issued in batches of `batch`.
double raw_nop_per_s(std::uint64_t total, unsigned batch);

}  // namespace weft::bench
