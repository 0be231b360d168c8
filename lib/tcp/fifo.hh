// A FIFO of at most N items whose storage is allocated on the first push:
// connections that never retransmit (most of them) never pay for it, and
// construction costs nothing (std::deque allocates when constructed).
#pragma once

#include <cstddef>
#include <memory>

namespace ts::tcp {

template <class T, size_t N>
class BoundedFifo {
  static_assert((N & (N - 1)) == 0, "N must be a power of two");

 public:
  bool empty() const { return head_ == tail_; }
  size_t size() const { return tail_ - head_; }
  bool full() const { return size() == N; }
  T& front() { return buf_[head_ & (N - 1)]; }
  const T& front() const { return buf_[head_ & (N - 1)]; }
  void pop_front() { ++head_; }
  void clear() { head_ = tail_ = 0; }
  // False (and nothing stored) when full.
  bool push_back(const T& v) {
    if (full()) return false;
    if (!buf_) buf_.reset(new T[N]);
    buf_[tail_++ & (N - 1)] = v;
    return true;
  }

 private:
  std::unique_ptr<T[]> buf_;
  size_t head_ = 0, tail_ = 0;
};

}  // namespace ts::tcp
