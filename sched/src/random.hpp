// random.hpp: Random, the one pseudo-random generator of the scheduler (steal victims, balance
// partners, select's polling rotation, and every choice of the seeded shuffle mode).
//
// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit counter stepped by the golden ratio and hashed.
// Every seed, 0 included, gives a full-period stream, and nearby seeds (1, 2, 3: what a seed
// sweep uses) give unrelated streams, because the output is a strong hash of the counter. One add,
// three shifts and two multiplies per number: cheap enough for a steal loop. Not for anything
// that needs unpredictability.
//
// Invariant: the sequence depends only on the seed, so a generator seeded the same way makes the
// same choices (what replaying a seed relies on).
//
// Thread-safety: none; each generator has one owner (a worker, or a thread: thread_random()).
//
//   Random r(42);
//   std::uint32_t victim = r.below(nworkers);
#pragma once

#include <cstdint>

namespace weft::sched {

class Random {
 public:
  explicit Random(std::uint64_t seed) noexcept : state_(seed) {}

  // derive: a generator for stream `index` of `seed` (worker i of a seeded scheduler): the seed
  // and the index are hashed together, so streams of neighbouring seeds and indices do not overlap.
  static Random derive(std::uint64_t seed, std::uint64_t index) noexcept {
    return Random(mix(seed ^ mix(index + kGamma)));
  }

  // next: the next 64 random bits.
  std::uint64_t next() noexcept { return mix(state_ += kGamma); }

  // below: uniform in [0, n), n > 0 (Lemire's multiply-shift: no division; the bias is below
  // n / 2^32, irrelevant for the small n used here).
  std::uint32_t below(std::uint32_t n) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * n) >> 32);
  }

  // one_in: true with probability 1/n, n > 0.
  bool one_in(std::uint32_t n) noexcept { return below(n) == 0; }

 private:
  static constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ull;

  static std::uint64_t mix(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  std::uint64_t state_;
};

// thread_random: the calling thread's generator, for random choices made outside a worker (seeded
// from its own address, which differs per thread).
inline Random& thread_random() noexcept {
  thread_local Random r(reinterpret_cast<std::uintptr_t>(&r));
  return r;
}

}  // namespace weft::sched
