#include "tcp/buffers.hh"

#include <algorithm>
#include <cstring>

namespace ts::tcp {

size_t SendBuffer::write(std::span<const uint8_t> data) {
  const size_t n = std::min(data.size(), free_space());
  const size_t cap = buf_.size();
  size_t pos = size_t(end_ % cap);
  const size_t first = std::min(n, cap - pos);
  std::memcpy(buf_.data() + pos, data.data(), first);
  std::memcpy(buf_.data(), data.data() + first, n - first);
  end_ += n;
  return n;
}

void SendBuffer::release(uint64_t off) {
  if (off > end_) off = end_;
  if (off > begin_) begin_ = off;
}

Bytes2 SendBuffer::view(uint64_t off, size_t len) const {
  const size_t cap = buf_.size();
  const size_t pos = size_t(off % cap);
  const size_t first = std::min(len, cap - pos);
  return {{buf_.data() + pos, first}, {buf_.data(), len - first}};
}

void RecvBuffer::copy_in(uint64_t off, std::span<const uint8_t> data) {
  const size_t cap = buf_.size();
  const size_t pos = size_t(off % cap);
  const size_t first = std::min(data.size(), cap - pos);
  std::memcpy(buf_.data() + pos, data.data(), first);
  std::memcpy(buf_.data(), data.data() + first, data.size() - first);
}

size_t RecvBuffer::insert(uint64_t off, std::span<const uint8_t> data, bool& dropped) {
  dropped = false;
  // Trim to the window [next_, read_ + capacity).
  const uint64_t limit = read_ + buf_.size();
  uint64_t begin = off, end = off + data.size();
  if (begin < next_) begin = next_;
  if (end > limit) end = limit;
  if (begin >= end) return 0;
  data = data.subspan(size_t(begin - off), size_t(end - begin));

  if (begin > next_) {
    // Out of order: merge into the range list (bytes already held are
    // rewritten with the same values, which is harmless).
    size_t i = 0;
    while (i < count_ && ranges_[i].end < begin) ++i;
    size_t j = i;
    while (j < count_ && ranges_[j].begin <= end) ++j;
    // ranges [i, j) touch or overlap [begin, end): they merge into one.
    if (i == j && count_ == kMaxRanges) {
      dropped = true;
      return 0;
    }
    copy_in(begin, data);
    Range merged{begin, end, ++stamp_};
    if (i < j) {
      merged.begin = std::min(begin, ranges_[i].begin);
      merged.end = std::max(end, ranges_[j - 1].end);
    }
    const size_t removed = j - i;
    if (removed == 0) {
      std::move_backward(ranges_.begin() + i, ranges_.begin() + count_, ranges_.begin() + count_ + 1);
      ++count_;
    } else if (removed > 1) {
      std::move(ranges_.begin() + j, ranges_.begin() + count_, ranges_.begin() + i + 1);
      count_ -= removed - 1;
    }
    ranges_[i] = merged;
    return 0;
  }

  // In order: extend next_, then absorb out-of-order ranges that now connect.
  copy_in(begin, data);
  const uint64_t before = next_;
  next_ = end;
  size_t k = 0;
  while (k < count_ && ranges_[k].begin <= next_) {
    next_ = std::max(next_, ranges_[k].end);
    ++k;
  }
  if (k) {
    std::move(ranges_.begin() + k, ranges_.begin() + count_, ranges_.begin());
    count_ -= k;
  }
  return size_t(next_ - before);
}

Bytes2 RecvBuffer::readable() const {
  const size_t cap = buf_.size();
  const size_t len = readable_size();
  const size_t pos = size_t(read_ % cap);
  const size_t first = std::min(len, cap - pos);
  return {{buf_.data() + pos, first}, {buf_.data(), len - first}};
}

void RecvBuffer::consume(size_t n) { read_ += std::min<uint64_t>(n, next_ - read_); }

size_t RecvBuffer::ranges_by_recency(Range* out, size_t max) const {
  const size_t n = std::min(max, count_);
  std::array<Range, kMaxRanges> tmp = ranges_;
  std::partial_sort(tmp.begin(), tmp.begin() + long(n), tmp.begin() + long(count_),
                    [](const Range& x, const Range& y) { return x.stamp > y.stamp; });
  std::copy(tmp.begin(), tmp.begin() + long(n), out);
  return n;
}

}  // namespace ts::tcp
