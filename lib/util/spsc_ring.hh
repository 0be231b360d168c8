// A bounded ring between exactly one producer thread and one consumer thread:
// the cross-core hand-off of docs/multicore.md (steered packets). Capacity a
// power of two, storage allocated once; push and pop never block or allocate.
// Each index is written by one side only and sits on its own cache line, with
// a cached copy of the other side's index so that a burst touches the shared
// lines once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "util/cache_line.hh"

namespace ts::util {

template <class T>
class SpscRing {
 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit SpscRing(size_t capacity) {
    size_t c = 2;
    while (c < capacity) c <<= 1;
    mask_ = c - 1;
    slots_ = std::make_unique<T[]>(c);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // Producer only. False when full (the item is not taken).
  bool push(const T& v) {
    const size_t t = prod_.tail.load(std::memory_order_relaxed);
    if (t - prod_.head_seen > mask_) {
      prod_.head_seen = cons_.head.load(std::memory_order_acquire);
      if (t - prod_.head_seen > mask_) return false;
    }
    slots_[t & mask_] = v;
    prod_.tail.store(t + 1, std::memory_order_release);
    return true;
  }

  // Consumer only: whether nothing is waiting.
  bool empty() const {
    return prod_.tail.load(std::memory_order_acquire) == cons_.head.load(std::memory_order_relaxed);
  }

  // Consumer only. Up to n items into out; returns how many.
  size_t pop(T* out, size_t n) {
    const size_t h = cons_.head.load(std::memory_order_relaxed);
    size_t avail = cons_.tail_seen - h;
    if (avail < n) {
      cons_.tail_seen = prod_.tail.load(std::memory_order_acquire);
      avail = cons_.tail_seen - h;
    }
    if (n > avail) n = avail;
    for (size_t i = 0; i < n; ++i) out[i] = slots_[(h + i) & mask_];
    if (n) cons_.head.store(h + n, std::memory_order_release);
    return n;
  }

 private:
  struct alignas(kCacheLine) Producer {
    std::atomic<size_t> tail{0};
    size_t head_seen = 0;  // the consumer's head when last looked at
  };
  struct alignas(kCacheLine) Consumer {
    std::atomic<size_t> head{0};
    size_t tail_seen = 0;  // the producer's tail when last looked at
  };
  Producer prod_;
  Consumer cons_;
  size_t mask_ = 0;
  std::unique_ptr<T[]> slots_;
};

}  // namespace ts::util
