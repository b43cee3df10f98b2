#include "stack_pool.hpp"

#include "fiber_switch.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <system_error>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

namespace weft::sched {

const std::size_t Stack::kGuardSize = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) * Stack::kGuardPages;

namespace {
std::size_t round_to_pages(std::size_t n) {
  static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}
}  // namespace

StackSlabs::StackSlabs(std::size_t stack_size) : stack_size_(round_to_pages(stack_size)) {}

StackSlabs::~StackSlabs() {
  for (auto [addr, len] : slabs_) {
    fiber_switch::clear_stack_redzones(addr, len);  // ASan's shadow outlives the mapping
    ::munmap(addr, len);
  }
}

void StackSlabs::carve(std::vector<Stack>& out) {
  const std::size_t guard = Stack::guard_size();
  // Whole pages: every stack's base (where its guard goes) must be page-aligned.
  const std::size_t stride = guard + stack_size_ + round_to_pages(kColorSpan);
  const std::size_t len = stride * kStacksPerSlab;
  void* slab = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (slab == MAP_FAILED) throw std::system_error(errno, std::system_category(), "weft: mmap fiber stacks");
  std::lock_guard lock(mu_);
  for (std::size_t i = 0; i < kStacksPerSlab; ++i) {
    char* base = static_cast<char*>(slab) + i * stride;
    int rc = -1;
    if (guard_madvise_) {
      rc = ::madvise(base, guard, MADV_GUARD_INSTALL);
      if (rc != 0) guard_madvise_ = false;  // kernel before 6.13: fall back for good
    }
    if (rc != 0 && ::mprotect(base, guard, PROT_NONE) != 0) {
      const int err = errno;
      ::munmap(slab, len);
      throw std::system_error(err, std::system_category(), "weft: install stack guard page");
    }
  }
  slabs_.emplace_back(slab, len);
  for (std::size_t i = 0; i < kStacksPerSlab; ++i) {
    out.push_back(Stack{static_cast<char*>(slab) + i * stride, stack_size_ + kColorSpan - color(i)});
  }
}

std::size_t StackClasses::class_of(std::size_t requested) const noexcept {
  if (requested == 0 || requested == default_.stack_size()) return 0;
  return std::bit_ceil(requested);
}

StackSlabs& StackClasses::slabs(std::size_t stack_class) {
  if (stack_class == 0) return default_;
  std::lock_guard lock(mu_);
  for (auto& [size, slabs] : others_) {
    if (size == stack_class) return *slabs;
  }
  others_.emplace_back(stack_class, std::make_unique<StackSlabs>(stack_class));
  return *others_.back().second;
}

Stack StackPool::acquire(bool* carved) {
  *carved = false;
  std::vector<Stack>* from = !warm_.empty() ? &warm_ : &cold_;
  if (from->empty()) {
    slabs_.carve(cold_);
    *carved = true;
  }
  Stack s = from->back();
  from->pop_back();
  return s;
}

void StackPool::release(Stack s) noexcept {
  try {
    warm_.push_back(s);
  } catch (...) {
    // Out of memory for the free list: the stack stays mapped in its slab (freed at shutdown).
  }
}

std::size_t StackPool::trim(std::size_t budget) noexcept {
  std::size_t n = 0;
  while (n < budget && warm_.size() > warm_limit_) {
    Stack s = warm_.back();
    ::madvise(s.bottom(), s.size, MADV_DONTNEED);
    warm_.pop_back();
    try {
      cold_.push_back(s);
    } catch (...) {
      // as in release()
    }
    ++n;
  }
  return n;
}

}  // namespace weft::sched

namespace weft::sched {

StackPool& StackPools::pool(std::size_t stack_class) {
  if (stack_class == 0) return default_;
  for (auto& [c, p] : sized_) {
    if (c == stack_class) return *p;
  }
  sized_.emplace_back(stack_class, std::make_unique<StackPool>(classes_.slabs(stack_class)));
  return *sized_.back().second;
}

Stack StackPools::acquire(std::size_t stack_class, bool* carved) { return pool(stack_class).acquire(carved); }

void StackPools::release(Stack s, std::size_t stack_class) noexcept {
  try {
    pool(stack_class).release(s);
  } catch (...) {
    // as in StackPool::release
  }
}

std::size_t StackPools::trim(std::size_t budget) noexcept {
  std::size_t n = default_.trim(budget);
  for (auto& [c, p] : sized_) n += p->trim(budget - n);
  return n;
}

bool StackPools::has_excess() const noexcept {
  if (default_.has_excess()) return true;
  return std::any_of(sized_.begin(), sized_.end(), [](const auto& e) { return e.second->has_excess(); });
}

}  // namespace weft::sched
