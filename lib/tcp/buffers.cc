#include "tcp/buffers.hh"

#include <algorithm>
#include <cstring>

namespace ts::tcp {

BufferPool::~BufferPool() {
  for (auto& c : classes_)
    for (uint8_t* p : c.free) delete[] p;
}

uint8_t* BufferPool::get(size_t size) {
  for (auto& c : classes_)
    if (c.size == size && !c.free.empty()) {
      uint8_t* p = c.free.back();
      c.free.pop_back();
      cached_ -= size;
      in_use_ += size;
      return p;
    }
  // The budget bounds everything held, in use or cached: cached blocks of
  // other sizes are freed before a new block is refused.
  for (auto& c : classes_) {
    while (budget_ && in_use_ + cached_ + size > budget_ && !c.free.empty()) {
      delete[] c.free.back();
      c.free.pop_back();
      cached_ -= c.size;
    }
  }
  if (budget_ && in_use_ + cached_ + size > budget_) {
    ++refused_;
    if (refused_counter_) ++*refused_counter_;
    return nullptr;
  }
  in_use_ += size;
  ++allocated_;
  return new uint8_t[size];
}

void BufferPool::put(uint8_t* p, size_t size) {
  in_use_ -= size;
  for (auto& c : classes_)
    if (c.size == size) {
      c.free.push_back(p);
      cached_ += size;
      return;
    }
  classes_.push_back({size, {p}});
  cached_ += size;
}

uint8_t* take_storage(BufferPool* pool, size_t size) {
  return pool ? pool->get(size) : new uint8_t[size];
}

void park_storage(BufferPool* pool, uint8_t*& buf, size_t size) {
  if (!buf) return;
  if (pool)
    pool->put(buf, size);
  else
    delete[] buf;
  buf = nullptr;
}

void release_storage(BufferPool* pool, uint8_t*& buf, uint32_t& size) {
  park_storage(pool, buf, size);
  size = 0;
}

Payload Payload::slice(size_t off, size_t len) const {
  Payload out;
  for (size_t i = 0; i < n && len; ++i) {
    if (off >= part[i].size()) {
      off -= part[i].size();
      continue;
    }
    const std::span<const uint8_t> s = part[i].subspan(off, std::min(len, part[i].size() - off));
    out.part[out.n++] = s;
    len -= s.size();
    off = 0;
  }
  return out;
}

void Payload::copy_to(uint8_t* out) const {
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(out, part[i].data(), part[i].size());
    out += part[i].size();
  }
}

void Payload::append_to(std::vector<uint8_t>& out) const {
  for (size_t i = 0; i < n; ++i) out.insert(out.end(), part[i].begin(), part[i].end());
}

namespace {

// Ring storage grows with use: 2 KiB first, doubled as needed up to the
// capacity, so a connection carrying small messages holds kilobytes, not its
// full window (a million of them fit in memory). The byte at ring offset x
// lives at x % size whatever the size, so growing copies each held range to
// its new place; for_each_held(f) calls f(begin, end) per held range. False
// when the pool refused (the caller stores nothing).
template <class ForEachHeld>
bool grow_storage(uint8_t*& buf, uint32_t& store, size_t need, size_t cap, BufferPool* pool,
                  ForEachHeld for_each_held) {
  constexpr size_t kFirst = 2048;
  auto fit = [&](size_t from) {  // doubled from `from` until `need` fits
    size_t s = std::min(cap, from);
    while (s < need) s = std::min(cap, s * 2);
    return s;
  };
  size_t size = fit(store ? store : kFirst);
  if (buf && size == store) return true;
  uint8_t* fresh = take_storage(pool, size);
  if (!fresh && !buf && size > kFirst) {
    // A parked ring's size refused (the pool's budget is spent): as small as
    // the data needs, as a new ring would be, rather than nothing.
    size = fit(kFirst);
    fresh = take_storage(pool, size);
  }
  if (!fresh) return false;
  if (buf) {
    for_each_held([&](uint64_t lo, uint64_t hi) {
      for (uint64_t at = lo; at < hi;) {
        const size_t from = size_t(at % store), to = size_t(at % size);
        const size_t n = size_t(std::min<uint64_t>({hi - at, store - from, size - to}));
        std::memcpy(fresh + to, buf + from, n);
        at += n;
      }
    });
    release_storage(pool, buf, store);
  }
  buf = fresh;
  store = uint32_t(size);  // at most cap, a uint32_t
  return true;
}

}  // namespace

uint64_t SendBuffer::ring_lo() const {
  if (!pieces_) return ring_end_ - size();
  for (size_t i = 0; i < pieces_->count; ++i)
    if (!piece(i).ref) return piece(i).ring;
  return ring_end_;
}

bool SendBuffer::take_pieces() {
  if (pieces_) return true;
  uint8_t* block = take_storage(pool_, kPiecesBytes);
  if (!block) return false;
  pieces_ = reinterpret_cast<Pieces*>(block);
  pieces_->head = pieces_->count = 0;
  if (size()) push_piece({begin_, size(), nullptr, ring_end_ - size()});
  return true;
}

void SendBuffer::drop_pieces() {
  uint8_t* block = reinterpret_cast<uint8_t*>(pieces_);
  park_storage(pool_, block, kPiecesBytes);
  pieces_ = nullptr;
}

size_t SendBuffer::write_slow(std::span<const uint8_t> data) {
  size_t n = std::min(data.size(), free_space());
  if (n == 0) return 0;
  const uint64_t lo = ring_lo();
  const size_t held = size_t(ring_end_ - lo);
  if ((!buf_ || held + n > store_) &&
      !grow_storage(buf_, store_, held + n, cap_, pool_,
                    [&](auto&& copy) { copy(lo, ring_end_); })) {
    // No more memory: take what the present storage still holds.
    n = buf_ ? std::min(n, store_ - held) : 0;
    if (n == 0) return 0;
  }
  copy_into_ring(data.data(), n);
  if (!pieces_)
    ;  // the implied ring piece grows
  else if (pieces_->count && !piece(pieces_->count - 1).ref)
    piece(pieces_->count - 1).len += n;  // extends the newest ring piece
  else
    push_piece({end_, n, nullptr, ring_end_});  // free_space() > 0: a slot is free
  ring_end_ += n;
  end_ += n;
  return n;
}

size_t SendBuffer::write_ref(std::span<const uint8_t> data) {
  const size_t n = std::min(data.size(), free_space());
  if (n == 0) return 0;
  if (const size_t count = piece_count()) {
    Piece& last = piece(count - 1);
    if (last.ref && last.ref + last.len == data.data()) {  // continues the newest reference
      last.len += n;
      end_ += n;
      return n;
    }
  }
  if (data.size() < kMinRef || cap_ < kMinRef) return write(data);
  if (n < kMinRef) return 0;
  if (!take_pieces()) return write(data);  // no memory for the list: copied, as far as it can
  push_piece({end_, n, data.data(), 0});
  end_ += n;
  return n;
}

void SendBuffer::release_pieces(uint64_t off) {
  while (pieces_->count) {
    Piece& p = piece(0);
    if (p.begin + p.len <= off) {
      pieces_->head = (pieces_->head + 1) % kMaxPieces;
      --pieces_->count;
      continue;
    }
    if (p.begin < off) {
      const uint64_t cut = off - p.begin;
      p.begin = off;
      p.len -= cut;
      if (p.ref)
        p.ref += cut;
      else
        p.ring += cut;
    }
    break;
  }
  // Only copies left (or nothing): the ring alone describes them again.
  bool refs = false;
  for (size_t i = 0; i < pieces_->count && !refs; ++i) refs = piece(i).ref != nullptr;
  if (!refs) drop_pieces();
}

void SendBuffer::view_pieces(Payload& out, uint64_t off, size_t len) const {
  size_t i = 0;
  const size_t count = pieces_->count;
  while (i < count && piece(i).begin + piece(i).len <= off) ++i;
  for (; len && i < count && out.n < Payload::kMaxParts; ++i) {
    const Piece& p = piece(i);
    const uint64_t skip = off - p.begin;
    const size_t take = size_t(std::min<uint64_t>(len, p.len - skip));
    if (p.ref) {
      out.part[out.n++] = {p.ref + skip, take};
    } else {
      if (out.n + 2u > Payload::kMaxParts) break;  // cannot happen (see kMinRef)
      add_ring_part(out, p.ring + skip, take);
    }
    off += take;
    len -= take;
  }
}

bool RecvBuffer::copy_in(uint64_t off, std::span<const uint8_t> data) {
  const size_t need = size_t(off + data.size() - read_);
  // Held while growing: the readable bytes and the out-of-order ranges.
  if ((!buf_ || need > store_) &&
      !grow_storage(buf_, store_, need, cap_, pool_, [&](auto&& copy) {
        copy(read_, next_);
        if (ooo_)
          for (const Range& r : ooo_->ranges) copy(r.begin, r.end);
      }))
    return false;
  const size_t pos = size_t(off % store_);
  const size_t first = std::min(data.size(), store_ - pos);
  std::memcpy(buf_ + pos, data.data(), first);
  if (first < data.size()) std::memcpy(buf_, data.data() + first, data.size() - first);  // wrapped
  return true;
}

size_t RecvBuffer::insert_in_place(uint64_t off, std::span<const uint8_t> data, bool& dropped,
                                   size_t& copied) {
  // (The pointer to the lent bytes is noted in the ring: one of fewer than 8
  // bytes has no room for it.)
  if (off != next_ || next_ != read_ || lent_ || has_out_of_order() || data.empty() ||
      cap_ < sizeof(const uint8_t*))
    return insert(off, data, dropped, copied);
  dropped = false;
  copied = 0;
  const size_t n = std::min<size_t>(data.size(), cap_);  // the window: read_ + cap_
  // Room for all of it, as copy_in would take (nothing is held to move).
  if ((!buf_ || n > store_) && !grow_storage(buf_, store_, n, cap_, pool_, [](auto&&) {})) {
    dropped = true;
    return 0;
  }
  set_lent_data(data.data());
  lent_ = true;
  next_ = off + n;
  return n;
}

size_t RecvBuffer::settle_lent() {
  // What the application left unread goes into the ring, whose room for it
  // insert_in_place() made sure of (the ring is not given back while bytes
  // are unread).
  lent_ = false;
  const size_t len = size_t(next_ - read_);
  if (len == 0) return 0;
  // The pointer is read before the copy overwrites the note; the copy needs no
  // more room than the ring has, so copy_in cannot fail here.
  copy_in(read_, {lent_data(), len});
  return len;
}

size_t RecvBuffer::insert(uint64_t off, std::span<const uint8_t> data, bool& dropped,
                          size_t& copied) {
  // Bytes lent and left unread are copied first (a segment that arrives
  // inside a handler, while the one that woke it is lent), and counted.
  copied = settle();
  dropped = false;
  // Trim to the window [next_, read_ + capacity).
  const uint64_t limit = read_ + cap_;
  uint64_t begin = off, end = off + data.size();
  if (begin < next_) begin = next_;
  if (end > limit) end = limit;
  if (begin >= end) return 0;
  data = data.subspan(size_t(begin - off), size_t(end - begin));

  if (begin > next_) {
    // Out of order: merge into the range list (bytes already held are
    // rewritten with the same values, which is harmless).
    if (!ooo_) {
      ooo_ = std::make_unique<OutOfOrder>();
      ooo_->ranges.reserve(64);  // before taking iterators
    }
    std::vector<Range>& ranges = ooo_->ranges;
    auto first = std::lower_bound(ranges.begin(), ranges.end(), begin,
                                  [](const Range& r, uint64_t b) { return r.end < b; });
    auto last = std::upper_bound(first, ranges.end(), end,
                                 [](uint64_t e, const Range& r) { return e < r.begin; });
    // [first, last) touch or overlap [begin, end): they merge into one.
    if (first == last && ranges.size() == kMaxRanges) {
      dropped = true;
      return 0;
    }
    if (!copy_in(begin, data)) {
      dropped = true;  // no storage: the peer retransmits
      return 0;
    }
    copied += data.size();
    Range merged{begin, end, ++ooo_->stamp};
    if (first != last) {
      merged.begin = std::min(begin, first->begin);
      merged.end = std::max(end, (last - 1)->end);
      *first = merged;
      ranges.erase(first + 1, last);
    } else {
      ranges.insert(first, merged);
    }
    return 0;
  }

  // In order: extend next_, then absorb out-of-order ranges that now connect.
  if (!copy_in(begin, data)) {
    dropped = true;
    return 0;
  }
  copied += data.size();
  const uint64_t before = next_;
  next_ = end;
  if (!ooo_) return size_t(next_ - before);
  std::vector<Range>& ranges = ooo_->ranges;
  size_t k = 0;
  while (k < ranges.size() && ranges[k].begin <= next_) {
    next_ = std::max(next_, ranges[k].end);
    ++k;
  }
  if (k) ranges.erase(ranges.begin(), ranges.begin() + long(k));
  return size_t(next_ - before);
}

size_t RecvBuffer::ranges_by_recency(Range* out, size_t max) const {
  // A selection of the `max` largest stamps (max is at most 4: SACK blocks).
  size_t n = 0;
  if (!ooo_) return 0;
  for (const Range& r : ooo_->ranges) {
    size_t i = n < max ? n++ : max;
    if (i == max) {
      if (r.stamp <= out[max - 1].stamp) continue;
      i = max - 1;
    }
    while (i > 0 && out[i - 1].stamp < r.stamp) {
      out[i] = out[i - 1];
      --i;
    }
    out[i] = r;
  }
  return n;
}

}  // namespace ts::tcp
