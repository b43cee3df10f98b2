// stack_pool.hpp: fiber stacks, carved from large slabs, with a guard page below each.
//
// Stacks come in size classes: the scheduler's default size (Config::stack_size), and for tasks
// spawned with SpawnOptions::stack_size, powers of two from kMinStackSize to kMaxStackSize (so a
// program asking for many different sizes still makes at most a handful of classes).
//
// StackSlabs (one per size class per scheduler; StackClasses holds them) maps slabs of
// kStacksPerSlab stacks and unmaps them all when the scheduler is destroyed. Guards are installed with MADV_GUARD_INSTALL where the kernel has it
// (6.13+): it splits no mapping, so a million fibers do not run into vm.max_map_count. Older kernels
// get mprotect(PROT_NONE) guards, which split the slab's mapping at every guard.
//
// StackPool (one per worker and size class, owner thread only; StackPools holds a worker's) reuses
// stacks LIFO so a tiny task that never suspends keeps running on one warm stack. Releasing is free (no syscall): a burst of ten
// thousand fibers ending must not cost ten thousand madvise calls on the hot path. When its
// worker goes idle, trim() gives the pages of pooled stacks beyond kWarmStacks back to the kernel
// (MADV_DONTNEED) and keeps their address ranges as cold stacks for reuse; kWarmStacks is counted
// in default-size stacks, so a class of bigger stacks keeps fewer warm (at least one). Stacks
// migrate between workers with their fibers; any worker's pool of a class can take a stack of it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
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

// StackClasses: a scheduler's slabs, one StackSlabs per size class. Any thread.
class StackClasses {
 public:
  static constexpr std::size_t kMinStackSize = 16 * 1024;
  static constexpr std::size_t kMaxStackSize = std::size_t{1} << 30;

  explicit StackClasses(std::size_t default_size) : default_(default_size) {}
  // class_of: the class of a requested size: 0 (the default class) for 0 or the default size,
  // else the size rounded up to a power of two. The caller has checked it is within
  // [kMinStackSize, kMaxStackSize].
  std::size_t class_of(std::size_t requested) const noexcept;
  StackSlabs& default_slabs() noexcept { return default_; }
  // slabs: the slabs of a class (made on first use; they live as long as this object). Throws
  // std::bad_alloc.
  StackSlabs& slabs(std::size_t stack_class);

 private:
  StackSlabs default_;
  std::mutex mu_;
  std::vector<std::pair<std::size_t, std::unique_ptr<StackSlabs>>> others_;  // under mu_
};

class StackPool {
 public:
  // kWarmStacks: default-size stacks (256 KiB) kept warm; a pool keeps as many bytes' worth.
  static constexpr std::size_t kWarmStacks = 64;
  static constexpr std::size_t kWarmBytes = kWarmStacks * 256 * 1024;

  explicit StackPool(StackSlabs& slabs) : slabs_(slabs), warm_limit_(warm_limit(slabs.stack_size())) {}
  // acquire: a stack from the pool (warm ones first), carving a new slab when empty. Sets
  // *carved when it did.
  Stack acquire(bool* carved);
  void release(Stack s) noexcept;
  // trim: returns the pages of up to `budget` warm stacks beyond the warm limit to the kernel.
  // Returns how many it trimmed.
  std::size_t trim(std::size_t budget) noexcept;
  // has_excess: warm stacks beyond the warm limit are left for trim().
  bool has_excess() const noexcept { return warm_.size() > warm_limit_; }

 private:
  static std::size_t warm_limit(std::size_t stack_size) noexcept {
    return stack_size <= 256 * 1024 ? kWarmStacks : std::max<std::size_t>(1, kWarmBytes / stack_size);
  }
  StackSlabs& slabs_;
  const std::size_t warm_limit_;
  std::vector<Stack> warm_;  // used before: pages may be committed
  std::vector<Stack> cold_;  // never used or trimmed: no committed pages
};

// StackPools: one worker's pools, one per size class it has used. Owner thread only.
class StackPools {
 public:
  explicit StackPools(StackClasses& classes) : classes_(classes), default_(classes.default_slabs()) {}
  // acquire: a stack of `stack_class` (StackClasses::class_of). Throws std::system_error (ENOMEM)
  // or std::bad_alloc.
  Stack acquire(std::size_t stack_class, bool* carved);
  // release: back to this worker's pool of its class (made now if this worker had none: the fiber
  // may have started elsewhere). Out of memory for that: the stack stays in its slab until the
  // scheduler is destroyed.
  void release(Stack s, std::size_t stack_class) noexcept;
  std::size_t trim(std::size_t budget) noexcept;
  bool has_excess() const noexcept;

 private:
  StackPool& pool(std::size_t stack_class);
  StackClasses& classes_;
  StackPool default_;
  std::vector<std::pair<std::size_t, std::unique_ptr<StackPool>>> sized_;
};

}  // namespace weft::sched
