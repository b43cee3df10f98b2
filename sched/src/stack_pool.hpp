// stack_pool.hpp: fiber stacks, carved from large slabs, with a guard page below each.
//
// StackSlabs (one per scheduler) maps slabs of kStacksPerSlab stacks and unmaps them all when the
// scheduler is destroyed. Guards are installed with MADV_GUARD_INSTALL where the kernel has it
// (6.13+): it splits no mapping, so a million fibers do not run into vm.max_map_count. Older kernels
// get mprotect(PROT_NONE) guards, which split the slab's mapping at every guard.
//
// StackPool (one per worker, owner thread only) reuses stacks LIFO so a tiny task that never
// suspends keeps running on one warm stack. Releasing is free (no syscall): a burst of ten
// thousand fibers ending must not cost ten thousand madvise calls on the hot path. When its
// worker goes idle, trim() gives the pages of pooled stacks beyond kWarmStacks back to the kernel
// (MADV_DONTNEED) and keeps their address ranges as cold stacks for reuse. Stacks migrate between
// pools with their fibers; any pool can take any stack.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace weft::sched {

struct Stack {
  void* base = nullptr;     // lowest address: the guard pages start here
  std::size_t size = 0;     // usable bytes above the guard
  void* top() const noexcept { return static_cast<char*>(base) + guard_size() + size; }
  void* bottom() const noexcept { return static_cast<char*>(base) + guard_size(); }
  // guard_size: kGuardPages pages. More than one, so that a frame somewhat larger than a page
  // still lands in the guard instead of the neighbouring stack of the slab.
  static std::size_t guard_size() noexcept { return kGuardSize; }
  static constexpr std::size_t kGuardPages = 4;
  static const std::size_t kGuardSize;  // kGuardPages pages, set at start-up
};

class StackSlabs {
 public:
  explicit StackSlabs(std::size_t stack_size);
  ~StackSlabs();
  StackSlabs(const StackSlabs&) = delete;
  StackSlabs& operator=(const StackSlabs&) = delete;

  // carve: maps a new slab and appends its stacks to `out`, each with at least stack_size()
  // usable bytes (more by up to kColorSpan, see below). Throws std::system_error (ENOMEM).
  void carve(std::vector<Stack>& out);
  std::size_t stack_size() const noexcept { return stack_size_; }
  bool uses_guard_madvise() const noexcept { return guard_madvise_; }

  static constexpr std::size_t kStacksPerSlab = 32;

  // Colouring. Stack tops sit at page-aligned addresses, so the hot top frames of every fiber
  // would map to the same few L1 sets (a 32 KiB 8-way L1 spans 4 KiB): with more than 8 fibers
  // taking turns their frames evict each other on every switch. Each stack of a slab gets its top
  // lowered by a different multiple of kColorStep within one extra span of kColorSpan, so the 32
  // stacks of a slab start in 32 different sets. (w7_nop: 32 fibers, one worker.) The step is one
  // cache line, not kColorSpan / 32: the offsets then stay within the top half of the page, so a
  // parked fiber's frames (about 1.5 KiB deep) fit in the one page it touches first instead of
  // crossing into a second for the deepest colours (RSS per parked fiber 4,820 -> 4,309 bytes).
  static constexpr std::size_t kColorSpan = 4096;
  static constexpr std::size_t kColorStep = 64;
  static constexpr std::size_t color(std::size_t i) noexcept { return (i % kStacksPerSlab) * kColorStep; }

 private:
  const std::size_t stack_size_;
  bool guard_madvise_ = true;
  std::mutex mu_;
  std::vector<std::pair<void*, std::size_t>> slabs_;
};

class StackPool {
 public:
  explicit StackPool(StackSlabs& slabs) : slabs_(slabs) {}
  // acquire: a stack from the pool (warm ones first), carving a new slab when empty. Sets
  // *carved when it did.
  Stack acquire(bool* carved);
  void release(Stack s) noexcept;
  // trim: returns the pages of up to `budget` warm stacks beyond kWarmStacks to the kernel.
  // Returns how many it trimmed.
  std::size_t trim(std::size_t budget) noexcept;
  // has_excess: warm stacks beyond kWarmStacks are left for trim().
  bool has_excess() const noexcept { return warm_.size() > kWarmStacks; }

  static constexpr std::size_t kWarmStacks = 64;

 private:
  StackSlabs& slabs_;
  std::vector<Stack> warm_;  // used before: pages may be committed
  std::vector<Stack> cold_;  // never used or trimmed: no committed pages
};

}  // namespace weft::sched
