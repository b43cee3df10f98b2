// raw_switch.hpp: the limit a fiber switch is compared against: two raw boost::context::fiber
// contexts resuming each other on one thread, with no scheduler at all.
#pragma once

#include <cstdint>

namespace weft::bench {

// raw_switch_ns: nanoseconds per context switch over `switches` switches (an even number).
double raw_switch_ns(std::uint64_t switches);

}  // namespace weft::bench
