// weft/channels/detail/ring.hpp: the growable FIFO ring buffer that holds a channel's buffered
// values (internal).
//
// Capacity is a power of two; push() doubles it when full, so a bounded channel allocates only as
// much as it has held at once and an unbounded one grows without limit. Not thread-safe: the
// channel lock guards it.
//
//   weft::detail::Ring<int> r;
//   r.push(1); r.push(2);
//   int a = r.pop();  // 1
#pragma once

#include <cassert>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace weft::detail {

template <class T>
class Ring {
 public:
  Ring() noexcept = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() {
    while (size_) (void)pop();
    if (buf_) std::allocator<T>{}.deallocate(buf_, cap_);
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // push: appends v, doubling the storage when full (may throw std::bad_alloc).
  void push(T&& v) {
    if (size_ == cap_) grow();
    ::new (static_cast<void*>(buf_ + ((head_ + size_) & (cap_ - 1)))) T(std::move(v));
    ++size_;
  }
  // pop: removes and returns the oldest value. Precondition: !empty().
  T pop() {
    assert(size_ > 0);
    T* p = buf_ + head_;
    T v(std::move(*p));
    p->~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    return v;
  }

 private:
  void grow() {
    const std::size_t cap = cap_ ? cap_ * 2 : 16;
    T* nb = std::allocator<T>{}.allocate(cap);
    for (std::size_t i = 0; i < size_; ++i) {
      T* p = buf_ + ((head_ + i) & (cap_ - 1));
      ::new (static_cast<void*>(nb + i)) T(std::move(*p));
      p->~T();
    }
    if (buf_) std::allocator<T>{}.deallocate(buf_, cap_);
    buf_ = nb;
    cap_ = cap;
    head_ = 0;
  }

  T* buf_ = nullptr;
  std::size_t cap_ = 0;  // 0 or a power of two
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace weft::detail
