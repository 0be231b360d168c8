// The byte stores of a connection: what the application has written and the
// peer not yet acknowledged, and what has arrived (in order or not) and the
// application not yet read. Both are rings of fixed capacity addressed by
// 64-bit stream offsets, so sequence-number wrap is the connection's business
// only and no byte is ever moved once stored.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>
#include <span>
#include <vector>

namespace ts::tcp {

// Two spans because a ring's contents may wrap around its end.
struct Bytes2 {
  std::span<const uint8_t> a, b;
  size_t size() const { return a.size() + b.size(); }
};

// A segment's payload as it leaves the send buffer: up to four pieces (ring
// bytes that may wrap, and referenced memory; see SendBuffer).
struct Payload {
  static constexpr size_t kMaxParts = 4;
  std::array<std::span<const uint8_t>, kMaxParts> part{};
  uint8_t n = 0;
  size_t size() const {
    size_t s = 0;
    for (size_t i = 0; i < n; ++i) s += part[i].size();
    return s;
  }
  void copy_to(uint8_t* out) const;
  // The `len` bytes from `off` (within size()).
  Payload slice(size_t off, size_t len) const;
  void append_to(std::vector<uint8_t>& out) const;
};

// Storage for the rings: fixed-size blocks recycled through a free list per
// size, so that once a core has seen its peak number of connections no ring
// costs an allocation. A budget (bytes of blocks handed out; 0 = unlimited)
// turns memory exhaustion into counted refusals: a ring without storage
// accepts no bytes (the application's write takes nothing, arriving data is
// dropped and retransmitted later) and the connection carries on.
class BufferPool {
 public:
  // `refused_counter`, when given, also counts refusals (a stack counter).
  explicit BufferPool(size_t budget = 0, uint64_t* refused_counter = nullptr)
      : budget_(budget), refused_counter_(refused_counter) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A block of `size` bytes, or nullptr when the budget is spent (counted).
  uint8_t* get(size_t size);
  void put(uint8_t* p, size_t size);

  size_t in_use_bytes() const { return in_use_; }
  size_t cached_bytes() const { return cached_; }
  uint64_t refused() const { return refused_; }
  uint64_t allocated() const { return allocated_; }  // blocks taken from the heap

 private:
  struct Class {
    size_t size;
    std::vector<uint8_t*> free;
  };
  std::vector<Class> classes_;  // one per ring size in use: a handful
  size_t budget_;
  uint64_t* refused_counter_;
  size_t in_use_ = 0, cached_ = 0;
  uint64_t refused_ = 0, allocated_ = 0;
};

// Ring storage of `size` bytes from the pool (the heap without one); nullptr
// when the pool's budget is spent. release_storage gives it back and clears
// the pointer and size.
uint8_t* take_storage(BufferPool* pool, size_t size);
void release_storage(BufferPool* pool, uint8_t*& buf, uint32_t& size);
// Gives the storage back but keeps `size`, so that the next take is that size
// at once (no regrowing from 2 KiB, no copies) when data comes again.
void park_storage(BufferPool* pool, uint8_t*& buf, size_t size);

// What the application has sent and the peer not yet acknowledged. Bytes
// written are copied into a ring that takes storage on first use, not at
// construction (a half-open connection, a SYN flood's, holds no buffer
// memory); without a pool it uses the heap. Large immutable bodies (a mapped
// file, a generated body) can instead be referenced: segments are then built
// straight from that memory and nothing is copied per connection. The list
// of pieces that interleaves copied and referenced bytes is itself taken from
// the pool on the first reference and given back when the last referenced
// byte is acknowledged: a buffer of copies alone is one implied ring piece
// (docs/performance.md, "Memory").
class SendBuffer {
 public:
  // A referenced piece shorter than this is copied instead, so that no
  // segment (at most 64 KB) holds a whole referenced piece and a payload has
  // at most four parts: [ref tail][ring, may wrap][ref head].
  static constexpr size_t kMinRef = 64 * 1024;
  static constexpr size_t kMaxPieces = 16;

  explicit SendBuffer(uint32_t capacity, BufferPool* pool = nullptr)
      : pool_(pool), cap_(capacity) {}
  ~SendBuffer() {  // whatever is still held
    release_storage(pool_, buf_, store_);
    drop_pieces();
  }
  SendBuffer(const SendBuffer&) = delete;
  SendBuffer& operator=(const SendBuffer&) = delete;

  // Appends as much of data as fits (copied); returns how much. (Inline
  // where no reference is held and the ring has room: every small write of a
  // request-response exchange; the rest, write_slow().)
  size_t write(std::span<const uint8_t> data) {
    const size_t n = data.size();
    if (pieces_ || !buf_ || n == 0 || n > cap_ - size() || size() + n > store_)
      return write_slow(data);
    copy_into_ring(data.data(), n);
    ring_end_ += n;
    end_ += n;
    return n;
  }
  // Appends as much of data as fits by reference; the memory must stay
  // unchanged until acknowledged. Less than kMinRef is copied (write());
  // when less than kMinRef of a larger body fits, nothing is taken yet.
  size_t write_ref(std::span<const uint8_t> data);
  // Drops everything below stream offset `off` (acknowledged).
  void release(uint64_t off) {
    if (off > end_) off = end_;
    if (off <= begin_) return;
    begin_ = off;
    if (pieces_) release_pieces(off);
  }
  // Bytes [off, off + len) (which must be stored).
  Payload view(uint64_t off, size_t len) const {
    Payload out;  // one object, built where the caller wants it (no copy)
    if (pieces_)
      view_pieces(out, off, len);
    else if (len)
      add_ring_part(out, ring_end_ - (end_ - off), len);
    return out;
  }

  uint64_t begin() const { return begin_; }  // offset of the oldest byte kept
  uint64_t end() const { return end_; }      // offset after the newest byte
  size_t size() const { return size_t(end_ - begin_); }
  size_t free_space() const { return pieces_full() ? 0 : cap_ - size(); }
  size_t capacity() const { return cap_; }
  // Returns the storage when nothing is held (all acknowledged); the next
  // write takes a ring of the same size again.
  void drop_storage() {
    if (buf_ && size() == 0) park_storage(pool_, buf_, store_);
  }
  size_t storage() const { return (buf_ ? store_ : 0) + (pieces_ ? kPiecesBytes : 0); }
  // A smaller capacity while nothing has been written yet.
  void limit(uint32_t capacity) {
    if (end_ == 0 && !buf_) cap_ = std::min(cap_, std::max<uint32_t>(capacity, 1));
  }
  // Bytes ever queued by copying into the ring, and by reference.
  uint64_t bytes_copied() const { return ring_end_; }
  uint64_t bytes_referenced() const { return end_ - ring_end_; }

 private:
  // The ring offset of the oldest copied byte still held.
  uint64_t ring_lo() const;

  // Stream bytes [begin, begin + len): at `ref`, or in the ring from ring
  // offset `ring` when ref is null. Pieces are in stream order.
  struct Piece {
    uint64_t begin;
    uint64_t len;
    const uint8_t* ref;
    uint64_t ring;
  };
  // The piece list, a ring of kMaxPieces; its head and count live with it,
  // so that a buffer of copies alone carries one pointer.
  struct Pieces {
    Piece p[kMaxPieces];
    uint32_t head, count;
  };
  static constexpr size_t kPiecesBytes = sizeof(Pieces);
  bool pieces_full() const { return pieces_ && pieces_->count == kMaxPieces; }
  size_t piece_count() const { return pieces_ ? pieces_->count : 0; }
  // The piece list, taken when the first reference comes (the ring's bytes
  // become its first piece); false when the pool refused.
  bool take_pieces();
  void drop_pieces();
  Piece& piece(size_t i) { return pieces_->p[(pieces_->head + i) % kMaxPieces]; }
  const Piece& piece(size_t i) const { return pieces_->p[(pieces_->head + i) % kMaxPieces]; }
  void push_piece(const Piece& p) {
    pieces_->p[(pieces_->head + pieces_->count) % kMaxPieces] = p;
    ++pieces_->count;
  }
  void add_ring_part(Payload& out, uint64_t ring_off, size_t len) const {
    const size_t pos = size_t(ring_off % store_);
    const size_t first = std::min(len, store_ - pos);
    out.part[out.n++] = {buf_ + pos, first};
    if (len > first) out.part[out.n++] = {buf_, len - first};
  }
  // `n` bytes at the ring's end (the storage holds them).
  void copy_into_ring(const uint8_t* data, size_t n) {
    const size_t pos = size_t(ring_end_ % store_);
    const size_t first = std::min(n, store_ - pos);
    std::memcpy(buf_ + pos, data, first);
    if (first < n) std::memcpy(buf_, data + first, n - first);  // wrapped
  }
  size_t write_slow(std::span<const uint8_t> data);
  void release_pieces(uint64_t off);
  void view_pieces(Payload& out, uint64_t off, size_t len) const;

  BufferPool* pool_;
  uint8_t* buf_ = nullptr;
  uint64_t begin_ = 0, end_ = 0;   // stream offsets held
  uint64_t ring_end_ = 0;          // ring offset after the newest copied byte
  Pieces* pieces_ = nullptr;       // none: all bytes are in the ring
  uint32_t cap_;
  uint32_t store_ = 0;  // bytes of storage at buf_ (none held: the next take's size)
};

// Received data: an in-order part [read, next) the application may read, and up
// to kMaxRanges out-of-order ranges above `next`, all inside one ring. The range
// list is allocated when data first arrives out of order (a connection that
// never sees reordering or loss never pays for it) and never grows beyond
// kMaxRanges; a slow-start overshoot can leave a hole for every other segment.
class RecvBuffer {
 public:
  static constexpr size_t kMaxRanges = 4096;
  struct Range {
    uint64_t begin, end;  // stream offsets, [begin, end)
    uint64_t stamp;       // for SACK block order: most recently changed first
  };

  explicit RecvBuffer(uint32_t capacity, BufferPool* pool = nullptr)
      : pool_(pool), cap_(capacity) {}
  ~RecvBuffer() { release_storage(pool_, buf_, store_); }
  RecvBuffer(const RecvBuffer&) = delete;
  RecvBuffer& operator=(const RecvBuffer&) = delete;

  // Stores data that starts at stream offset `off`, trimmed to what fits
  // between next() and read() + capacity. Returns the number of bytes that
  // became readable in order. `dropped` is set when the data had to be
  // discarded: out of order with kMaxRanges ranges already held, or no
  // storage from the pool.
  size_t insert(uint64_t off, std::span<const uint8_t> data, bool& dropped) {
    size_t copied;
    return insert(off, data, dropped, copied);
  }
  // Receive in place (docs/performance.md, "Receive in place"): as insert(),
  // but in-order data that finds nothing unread and nothing out of order is
  // read from where it lies (the packet) rather than copied in first. The
  // ring is still taken with room for all of it, so that settle() copies
  // what the application leaves unread without fail; settle() must come
  // before `data` goes away (Connection::input ends with it).
  // `copied`: the bytes copied into the ring (0 when lent).
  size_t insert_in_place(uint64_t off, std::span<const uint8_t> data, bool& dropped,
                         size_t& copied);
  // Returns the bytes copied.
  size_t settle() { return lent_ ? settle_lent() : 0; }

  // The readable in-order bytes, and consuming them. (Inline: once or twice
  // an exchange each.)
  Bytes2 readable() const {
    const size_t len = readable_size();
    if (len == 0) return {};
    if (lent_) {
      // The second part empty but, as the ring's, not null: callers copy from
      // both parts (memcpy from a null pointer is undefined even for 0 bytes).
      const uint8_t* p = lent_data();
      return {{p, len}, {p + len, size_t(0)}};
    }
    const size_t pos = size_t(read_ % store_);
    const size_t first = std::min(len, store_ - pos);
    return {{buf_ + pos, first}, {buf_, len - first}};
  }
  void consume(size_t n) {
    const uint64_t m = std::min<uint64_t>(n, next_ - read_);
    if (lent_ && m) set_lent_data(lent_data() + m);
    read_ += m;
  }

  uint64_t read_offset() const { return read_; }
  uint64_t next() const { return next_; }         // first byte not yet received in order
  size_t capacity() const { return cap_; }
  // Space from next() to the end of the buffer: the window we may advertise.
  size_t window() const { return cap_ - size_t(next_ - read_); }
  size_t readable_size() const { return size_t(next_ - read_); }

  bool has_out_of_order() const { return ooo_ && !ooo_->ranges.empty(); }
  // Out-of-order ranges, most recently changed first (RFC 2018 4).
  size_t ranges_by_recency(Range* out, size_t max) const;
  size_t range_count() const { return ooo_ ? ooo_->ranges.size() : 0; }
  // Returns the storage when nothing is held (all read); the next segment
  // takes a ring of the same size again.
  void drop_storage() {
    if (buf_ && next_ == read_ && !has_out_of_order()) park_storage(pool_, buf_, store_);
  }
  size_t storage() const { return buf_ ? store_ : 0; }
  // A smaller capacity while nothing has arrived yet.
  void limit(uint32_t capacity) {
    if (next_ == 0 && !buf_) cap_ = std::min(cap_, std::max<uint32_t>(capacity, 1));
  }
  // Readable bytes not yet copied into the ring (receive in place).
  bool in_place() const { return lent_; }

 private:
  size_t insert(uint64_t off, std::span<const uint8_t> data, bool& dropped, size_t& copied);
  bool copy_in(uint64_t off, std::span<const uint8_t> data);
  size_t settle_lent();
  // Where the byte at read_ lies while lent_: noted in the ring's first
  // bytes, which hold nothing else then (the ring is empty and reserved for
  // these bytes), so that a connection carries one flag for it, not a
  // pointer (docs/performance.md, "Memory").
  const uint8_t* lent_data() const {
    const uint8_t* p;
    std::memcpy(&p, buf_, sizeof p);
    return p;
  }
  void set_lent_data(const uint8_t* p) { std::memcpy(buf_, &p, sizeof p); }

  // The out-of-order ranges, out of line: taken when data first arrives out
  // of order and kept (with the list's capacity) after.
  struct OutOfOrder {
    std::vector<Range> ranges;  // sorted by begin, disjoint, not touching, above next_
    uint64_t stamp = 0;
  };

  BufferPool* pool_;
  uint8_t* buf_ = nullptr;
  uint64_t read_ = 0, next_ = 0;
  std::unique_ptr<OutOfOrder> ooo_;
  uint32_t cap_;
  uint32_t store_ = 0;  // bytes of storage at buf_ (none held: the next take's size)
  // Receive in place: the readable bytes [read_, next_) lie at lent_data(),
  // not in the ring.
  bool lent_ = false;
};

}  // namespace ts::tcp
