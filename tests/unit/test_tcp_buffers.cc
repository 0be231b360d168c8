// Sequence-number arithmetic and the connection's buffers: the send ring with
// referenced pieces, the receive ring with reassembly, and the block pool
// (with its memory budget) both draw from.
#include <gtest/gtest.h>

#include <vector>

#include "tcp/buffers.hh"
#include "tcp/seq.hh"
#include "util/rng.hh"

using namespace ts;
using namespace ts::tcp;

namespace {

std::vector<uint8_t> flat(const Payload& p) {
  std::vector<uint8_t> v;
  p.append_to(v);
  return v;
}

std::vector<uint8_t> flat(const Bytes2& b) {
  std::vector<uint8_t> v(b.a.begin(), b.a.end());
  v.insert(v.end(), b.b.begin(), b.b.end());
  return v;
}

std::vector<uint8_t> stream(uint64_t off, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t((off + i) * 131 + 7);
  return v;
}

}  // namespace

TEST(Seq, ComparisonsHoldAcrossTheWrap) {
  EXPECT_TRUE(seq_lt(0xfffffff0u, 0x10u));
  EXPECT_TRUE(seq_gt(0x10u, 0xfffffff0u));
  EXPECT_TRUE(seq_le(5u, 5u));
  EXPECT_TRUE(seq_in(2u, 0xfffffffeu, 5u));
  EXPECT_FALSE(seq_in(5u, 0xfffffffeu, 5u));
  EXPECT_EQ(seq_max(0xfffffff0u, 0x10u), 0x10u);
}

TEST(SendBuffer, WrapsAroundItsEndAndReleasesAcknowledgedBytes) {
  SendBuffer b(1000);
  EXPECT_EQ(b.write(stream(0, 700)), 700u);
  EXPECT_EQ(b.write(stream(700, 700)), 300u);  // full
  b.release(600);
  EXPECT_EQ(b.free_space(), 600u);
  EXPECT_EQ(b.write(stream(1000, 500)), 500u);  // wraps
  EXPECT_EQ(flat(b.view(900, 400)), stream(900, 400));
  EXPECT_EQ(b.begin(), 600u);
  EXPECT_EQ(b.end(), 1500u);
}

// Small copies (the inline path of write(), view() and release()) that land
// across the ring's end at every offset, with releases between them: each
// write takes what fits, and every byte held reads back as written.
TEST(SendBuffer, SmallWritesAcrossTheRingsEndReadBackAsWritten) {
  SendBuffer b(1000);
  util::Rng rng(5);
  size_t wrapped = 0;
  for (int i = 0; i < 5000; ++i) {
    const size_t k = 1 + rng.below(300);
    const size_t room = b.free_space();
    const uint64_t end = b.end();
    ASSERT_EQ(b.write(stream(end, k)), std::min(k, room)) << "write " << i;
    ASSERT_EQ(b.end(), end + std::min(k, room));
    if (b.size()) {
      const Payload all = b.view(b.begin(), b.size());
      if (all.n == 2) ++wrapped;
      ASSERT_EQ(flat(all), stream(b.begin(), b.size())) << "write " << i;
    }
    b.release(b.begin() + rng.below(b.size() + 1));
  }
  b.release(b.end() + 100);  // past the end: everything, no more
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.begin(), b.end());
  EXPECT_GT(wrapped, 100u);  // the held bytes straddled the end often
}

// Copied and referenced pieces interleaved at random, released at random
// points, every view checked against the stream: the referenced bytes are
// read in place (never copied into the ring) and a payload has at most four
// parts whatever the mix.
TEST(SendBuffer, ReferencedPiecesReadInPlaceAmongCopiedOnes) {
  constexpr size_t kCap = 256 * 1024;
  const std::vector<uint8_t> body = stream(0, 4 << 20);  // "the file": stream byte i == body[i]
  util::Rng rng(11);
  for (int round = 0; round < 20; ++round) {
    SendBuffer b(kCap);
    uint64_t written = 0, released = 0;
    size_t refs = 0;
    for (int step = 0; step < 400 && written < body.size() - 300'000; ++step) {
      const uint32_t op = uint32_t(rng.below(4));
      if (op == 0) {  // a small header, copied
        const size_t n = 1 + rng.below(400);
        written += b.write({body.data() + written, n});
      } else if (op == 1) {  // a large body by reference (maybe copied if small)
        const size_t n = 1 + rng.below(200'000);
        const size_t got = b.write_ref({body.data() + written, n});
        if (got >= SendBuffer::kMinRef) ++refs;
        written += got;
      } else if (op == 2 && written > released) {  // an acknowledgment
        released += rng.below(written - released + 1);
        b.release(released);
      } else if (written > released) {  // a segment of up to 64 KB anywhere held
        const uint64_t off = released + rng.below(written - released);
        const size_t len = size_t(std::min<uint64_t>(1 + rng.below(65536), written - off));
        const Payload p = b.view(off, len);
        ASSERT_LE(p.n, Payload::kMaxParts);
        ASSERT_EQ(p.size(), len) << "round " << round << " step " << step;
        ASSERT_EQ(flat(p), std::vector<uint8_t>(body.begin() + long(off),
                                                body.begin() + long(off + len)));
        // A referenced part points into the body at its own stream offset.
        uint64_t at = off;
        for (size_t i = 0; i < p.n; ++i) {
          const uint8_t* d = p.part[i].data();
          if (d >= body.data() && d < body.data() + body.size()) {
            ASSERT_EQ(d, body.data() + at) << "misplaced reference";
          }
          at += p.part[i].size();
        }
      }
      ASSERT_EQ(b.begin(), released);
      ASSERT_EQ(b.end(), written);
      ASSERT_LE(b.size(), kCap);
    }
    EXPECT_GT(refs, 0u);
  }
}

TEST(SendBuffer, SmallReferencesAreCopiedAndBigOnesWaitForRoom) {
  const std::vector<uint8_t> body = stream(0, 1 << 20);
  SendBuffer b(256 * 1024);
  // Under kMinRef: copied (the bytes may change afterwards).
  std::vector<uint8_t> small = stream(0, 1000);
  EXPECT_EQ(b.write_ref(small), 1000u);
  small.assign(small.size(), 0);
  EXPECT_EQ(flat(b.view(0, 1000)), stream(0, 1000));
  // A large body is referenced while room allows; with less than kMinRef
  // free it waits rather than splitting into copies.
  EXPECT_EQ(b.write_ref({body.data() + 1000, body.size() - 1000}), 256u * 1024 - 1000);
  EXPECT_EQ(b.view(1000, 10).part[0].data(), body.data() + 1000);
  b.release(40'000);
  EXPECT_EQ(b.free_space(), 40'000u);
  // The next part continues the same reference: taken whatever its size.
  EXPECT_EQ(b.write_ref({body.data() + 256 * 1024, 300'000}), 40'000u);
  b.release(100'000);
  EXPECT_EQ(b.write(stream(0, 10)), 10u);  // a copied piece after it
  EXPECT_EQ(b.write_ref({body.data() + 500'000, 300'000}), 0u);  // 59990 free < kMinRef
  b.release(200'000);
  EXPECT_EQ(b.write_ref({body.data() + 500'000, 300'000}), 160'000u - 10);
  EXPECT_EQ(b.view(302'154, 5).part[0].data(), body.data() + 500'000);
}

// Ring storage starts at 2 KiB and doubles as data needs it, keeping every
// held byte (also across a wrap of the old storage): small messages cost
// kilobytes per connection, not the whole window.
TEST(SendBuffer, StorageGrowsWithUseAndKeepsItsBytes) {
  SendBuffer b(256 * 1024);
  EXPECT_EQ(b.storage(), 0u);
  EXPECT_EQ(b.write(stream(0, 1500)), 1500u);
  EXPECT_EQ(b.storage(), 2048u);
  b.release(1200);
  EXPECT_EQ(b.write(stream(1500, 1500)), 1500u);  // wraps in 2 KiB
  EXPECT_EQ(b.storage(), 2048u);
  EXPECT_EQ(b.write(stream(3000, 5000)), 5000u);  // 6800 held: grows to 8 KiB
  EXPECT_EQ(b.storage(), 8192u);
  EXPECT_EQ(flat(b.view(1200, 6800)), stream(1200, 6800));
  b.release(8000);
  b.drop_storage();
  EXPECT_EQ(b.storage(), 0u);
  // Written again, it takes the size it had at once (no regrowing), and the
  // bytes land where the stream offsets say.
  EXPECT_EQ(b.write(stream(8000, 100)), 100u);
  EXPECT_EQ(b.storage(), 8192u);
  EXPECT_EQ(flat(b.view(8000, 100)), stream(8000, 100));
}

// A buffer of copies alone keeps no piece list: the ring describes it. The
// list comes from the pool with the first reference (the copies before it
// become its first piece) and goes back once no referenced byte is held,
// the stream reading the same throughout; refused, the reference is copied.
TEST(SendBuffer, ThePieceListIsTakenForReferencesAndGivenBackAfterThem) {
  const std::vector<uint8_t> body = stream(0, 1 << 20);
  BufferPool pool;
  SendBuffer b(512 * 1024, &pool);
  EXPECT_EQ(b.write({body.data(), 1000}), 1000u);
  EXPECT_EQ(b.storage(), 2048u);
  EXPECT_EQ(b.write_ref({body.data() + 1000, 100'000}), 100'000u);
  const size_t list = b.storage() - 2048;
  EXPECT_GT(list, 0u);
  EXPECT_EQ(pool.in_use_bytes(), 2048u + list);
  EXPECT_EQ(b.write({body.data() + 101'000, 500}), 500u);
  EXPECT_EQ(flat(b.view(0, 101'500)), stream(0, 101'500));
  EXPECT_EQ(b.bytes_referenced(), 100'000u);
  b.release(50'000);  // inside the reference: the list stays
  EXPECT_EQ(b.storage(), 2048u + list);
  b.release(101'000);  // past it: only copies are left
  EXPECT_EQ(b.storage(), 2048u);
  EXPECT_EQ(pool.in_use_bytes(), 2048u);
  EXPECT_EQ(b.write({body.data() + 101'500, 700}), 700u);
  EXPECT_EQ(flat(b.view(101'000, 1200)), stream(101'000, 1200));
  EXPECT_EQ(flat(b.view(101'100, 300)), stream(101'100, 300));

  // A budget with room for the ring and not the list: the body is copied.
  uint64_t refused = 0;
  BufferPool tight(2048 + 1024 * 1024, &refused);
  SendBuffer c(1024 * 1024, &tight);
  EXPECT_EQ(c.write({body.data(), 1000}), 1000u);
  // Fill the budget with a ring of another buffer so that no list fits.
  SendBuffer filler(1024 * 1024, &tight);
  EXPECT_EQ(filler.write(stream(0, 1024 * 1024)), 1024u * 1024);
  const size_t got = c.write_ref({body.data() + 1000, 200'000});
  EXPECT_EQ(c.bytes_referenced(), 0u);
  EXPECT_GE(refused, 1u);
  EXPECT_EQ(flat(c.view(0, 1000 + got)), stream(0, 1000 + got));
}

// Emptied rings go back to the pool (an idle connection holds none) and come
// back the same size when data does.
TEST(BufferPool, EmptiedRingsAreParkedAndRetakenAtTheirSize) {
  BufferPool pool;
  RecvBuffer r(256 * 1024, &pool);
  bool dropped = false;
  EXPECT_EQ(r.insert(0, stream(0, 5000), dropped), 5000u);
  EXPECT_EQ(r.storage(), 8192u);
  r.drop_storage();  // unread bytes: kept
  EXPECT_EQ(r.storage(), 8192u);
  r.consume(5000);
  r.drop_storage();
  EXPECT_EQ(r.storage(), 0u);
  EXPECT_EQ(pool.in_use_bytes(), 0u);
  EXPECT_EQ(pool.cached_bytes(), 8192u);
  EXPECT_EQ(r.insert(5000, stream(5000, 100), dropped), 100u);
  EXPECT_EQ(r.storage(), 8192u);
  EXPECT_EQ(pool.allocated(), 1u);  // the same block, recycled
  EXPECT_EQ(flat(r.readable()), stream(5000, 100));
}

// A parked ring whose size the budget no longer allows comes back as small as
// the data needs instead of not at all.
TEST(BufferPool, AParkedRingRefusedItsSizeTakesASmallerOne) {
  uint64_t refused = 0;
  BufferPool pool(10 * 1024, &refused);
  SendBuffer a(256 * 1024, &pool), b(256 * 1024, &pool);
  EXPECT_EQ(a.write(stream(0, 5000)), 5000u);  // 8 KiB
  a.release(5000);
  a.drop_storage();
  EXPECT_EQ(b.write(stream(0, 1000)), 1000u);  // 2 KiB: 8 KiB cached + 2 KiB in use
  EXPECT_EQ(b.write(stream(1000, 2000)), 2000u);  // 4 KiB: the cached 8 KiB freed for it
  EXPECT_EQ(a.write(stream(5000, 100)), 100u);  // 8 KiB would not fit any more
  EXPECT_EQ(a.storage(), 2048u);
  EXPECT_EQ(flat(a.view(5000, 100)), stream(5000, 100));
}

// The pool's budget turns exhaustion into counted refusals: a ring without
// storage takes no bytes (the caller sees 0, the peer retransmits), and
// storage given back is reused before anything new is allocated.
TEST(BufferPool, BudgetRefusesAndCountsAndRecycles) {
  uint64_t refused = 0;
  BufferPool pool(4096, &refused);
  SendBuffer a(256 * 1024, &pool), b(256 * 1024, &pool), c(256 * 1024, &pool);
  EXPECT_EQ(a.write(stream(0, 100)), 100u);
  EXPECT_EQ(b.write(stream(0, 100)), 100u);
  EXPECT_EQ(c.write(stream(0, 100)), 0u);  // 2 x 2 KiB in use: the budget is spent
  EXPECT_EQ(refused, 1u);
  EXPECT_EQ(pool.in_use_bytes(), 4096u);
  a.release(100);
  a.drop_storage();
  EXPECT_EQ(pool.cached_bytes(), 2048u);
  EXPECT_EQ(c.write(stream(0, 100)), 100u);  // a's block, recycled
  EXPECT_EQ(pool.allocated(), 2u);
  RecvBuffer r(256 * 1024, &pool);
  bool dropped = false;
  EXPECT_EQ(r.insert(0, stream(0, 100), dropped), 0u);
  EXPECT_TRUE(dropped);
  EXPECT_EQ(refused, 2u);
}

// Rings destroyed while still holding data (a reset or aborted connection)
// give their storage back; the budget counts cached blocks too, and frees
// cached blocks of another size before refusing.
TEST(BufferPool, DestroyedRingsReturnTheirStorageAndTheBudgetBoundsTheCache) {
  uint64_t refused = 0;
  BufferPool pool(16384, &refused);
  {
    SendBuffer s(256 * 1024, &pool);
    RecvBuffer r(256 * 1024, &pool);
    EXPECT_EQ(s.write(stream(0, 3000)), 3000u);  // 4 KiB, unacknowledged
    bool dropped = false;
    r.insert(500, stream(500, 100), dropped);  // out of order: 2 KiB held
    EXPECT_EQ(pool.in_use_bytes(), 6144u);
  }
  EXPECT_EQ(pool.in_use_bytes(), 0u);
  EXPECT_EQ(pool.cached_bytes(), 6144u);
  // 16 KiB wanted with 6 KiB cached in other sizes: the cache makes room.
  SendBuffer big(256 * 1024, &pool);
  EXPECT_EQ(big.write(stream(0, 10'000)), 10'000u);
  EXPECT_EQ(big.storage(), 16384u);
  EXPECT_EQ(refused, 0u);
  EXPECT_LE(pool.in_use_bytes() + pool.cached_bytes(), 16384u);
}

TEST(RecvBuffer, StorageGrowsWithTheFarthestByteHeld) {
  RecvBuffer b(256 * 1024);
  bool dropped = false;
  EXPECT_EQ(b.insert(0, stream(0, 1000), dropped), 1000u);
  EXPECT_EQ(b.storage(), 2048u);
  EXPECT_EQ(b.insert(100'000, stream(100'000, 1000), dropped), 0u);  // out of order, far
  EXPECT_EQ(b.storage(), 131072u);
  EXPECT_EQ(b.insert(1000, stream(1000, 99'000), dropped), 100'000u);  // fills the hole
  EXPECT_FALSE(dropped);
  EXPECT_EQ(flat(b.readable()), stream(0, 101'000));
}

TEST(RecvBuffer, ReassemblesAnyOrderAndBoundsItsRanges) {
  util::Rng rng(3);
  for (int round = 0; round < 50; ++round) {
    RecvBuffer b(4096);
    const size_t total = 4000;
    std::vector<std::pair<size_t, size_t>> pieces;
    for (size_t off = 0; off < total;) {
      size_t n = 1 + rng.below(300);
      if (off + n > total) n = total - off;
      pieces.push_back({off, n});
      off += n;
    }
    for (size_t i = pieces.size(); i > 1; --i) std::swap(pieces[i - 1], pieces[rng.below(i)]);
    size_t got = 0;
    bool any_dropped = false;
    for (auto [off, n] : pieces) {
      bool dropped = false;
      got += b.insert(off, stream(off, n), dropped);
      any_dropped |= dropped;
      ASSERT_LE(b.range_count(), RecvBuffer::kMaxRanges);
    }
    if (!any_dropped) {
      EXPECT_EQ(got, total);
      EXPECT_EQ(flat(b.readable()), stream(0, total));
    } else {
      EXPECT_EQ(flat(b.readable()), stream(0, got));  // a prefix, never wrong bytes
    }
  }
}

TEST(RecvBuffer, TrimsToTheWindowAndReportsRangesNewestFirst) {
  RecvBuffer b(100);
  bool dropped;
  EXPECT_EQ(b.insert(90, stream(90, 50), dropped), 0u);  // only [90, 100) fits
  EXPECT_EQ(b.insert(50, stream(50, 10), dropped), 0u);
  RecvBuffer::Range r[4];
  ASSERT_EQ(b.ranges_by_recency(r, 4), 2u);
  EXPECT_EQ(r[0].begin, 50u);
  EXPECT_EQ(r[1].begin, 90u);
  EXPECT_EQ(r[1].end, 100u);
  EXPECT_EQ(b.insert(0, stream(0, 50), dropped), 60u);  // through the first range
  EXPECT_EQ(b.window(), 40u);
  b.consume(60);
  EXPECT_EQ(b.window(), 100u);
}

// Receive in place: in-order data that finds the ring empty is read where it
// lies; what is left unread is copied into the ring by settle(), at the ring
// position of its stream offset (so later data joins it), and the source may
// then be overwritten.
TEST(RecvBuffer, InPlaceDataIsReadWhereItLiesAndTheUnreadRestSettled) {
  RecvBuffer b(4096);
  bool dropped = true;
  size_t copied = 1;
  std::vector<uint8_t> pkt = stream(0, 300);
  EXPECT_EQ(b.insert_in_place(0, pkt, dropped, copied), 300u);
  EXPECT_FALSE(dropped);
  EXPECT_EQ(copied, 0u);
  EXPECT_TRUE(b.in_place());
  EXPECT_EQ(b.readable().a.data(), pkt.data());  // not copied
  EXPECT_TRUE(b.readable().b.empty());
  EXPECT_NE(b.readable().b.data(), nullptr);  // as the ring's: a caller may copy from it
  EXPECT_EQ(b.storage(), 2048u);  // the ring is taken, with room for all of it
  b.consume(100);
  EXPECT_EQ(flat(b.readable()), stream(100, 200));
  EXPECT_EQ(b.settle(), 200u);  // the bytes copied
  EXPECT_EQ(b.settle(), 0u);
  EXPECT_FALSE(b.in_place());
  std::fill(pkt.begin(), pkt.end(), 0xee);  // the packet is gone
  EXPECT_EQ(flat(b.readable()), stream(100, 200));
  // Data with unread bytes ahead of it is copied (insert), and follows them.
  EXPECT_EQ(b.insert_in_place(300, stream(300, 3700), dropped, copied), 3700u);
  EXPECT_EQ(copied, 3700u);
  EXPECT_FALSE(b.in_place());
  EXPECT_EQ(b.storage(), 4096u);
  EXPECT_EQ(flat(b.readable()), stream(100, 3900));
  b.consume(3900);
  // Read in full: the next data is lent again; what is left of it goes to
  // its ring position, 4010 of 4096, and wraps round the ring's end.
  std::vector<uint8_t> next = stream(4000, 500);
  EXPECT_EQ(b.insert_in_place(4000, next, dropped, copied), 500u);
  EXPECT_TRUE(b.in_place());
  b.consume(10);
  EXPECT_EQ(b.settle(), 490u);
  std::fill(next.begin(), next.end(), 0);
  EXPECT_EQ(b.readable().a.size(), 86u);
  EXPECT_EQ(flat(b.readable()), stream(4010, 490));
  // And data after it is copied in behind it.
  EXPECT_EQ(b.insert_in_place(4500, stream(4500, 100), dropped, copied), 100u);
  EXPECT_EQ(flat(b.readable()), stream(4010, 590));
}

// Only what the window takes is lent; out-of-order data, or data behind a
// hole, is copied as before; with no storage from the pool the data is
// dropped (and counted by the caller), never lent without room to settle.
TEST(RecvBuffer, InPlaceKeepsToTheWindowAndFallsBackToCopying) {
  RecvBuffer w(100);
  bool dropped;
  size_t copied;
  std::vector<uint8_t> pkt = stream(0, 150);
  EXPECT_EQ(w.insert_in_place(0, pkt, dropped, copied), 100u);  // the window: 100
  EXPECT_EQ(w.window(), 0u);
  EXPECT_EQ(w.settle(), 100u);
  EXPECT_EQ(flat(w.readable()), stream(0, 100));
  // A buffer of fewer than 8 bytes has no room for the note of where lent
  // bytes lie: its data is copied.
  RecvBuffer tiny(4);
  EXPECT_EQ(tiny.insert_in_place(0, stream(0, 10), dropped, copied), 4u);
  EXPECT_FALSE(tiny.in_place());
  EXPECT_EQ(copied, 4u);
  EXPECT_EQ(flat(tiny.readable()), stream(0, 4));

  RecvBuffer h(4096);
  EXPECT_EQ(h.insert_in_place(500, stream(500, 100), dropped, copied), 0u);  // out of order
  EXPECT_EQ(copied, 100u);
  EXPECT_FALSE(h.in_place());
  EXPECT_EQ(h.insert_in_place(0, stream(0, 500), dropped, copied), 600u);  // fills the hole: copied
  EXPECT_FALSE(h.in_place());
  EXPECT_EQ(flat(h.readable()), stream(0, 600));

  uint64_t refused = 0;
  BufferPool pool(2048, &refused);
  SendBuffer s(256 * 1024, &pool);
  EXPECT_EQ(s.write(stream(0, 100)), 100u);  // the budget is spent
  RecvBuffer r(256 * 1024, &pool);
  EXPECT_EQ(r.insert_in_place(0, stream(0, 100), dropped, copied), 0u);
  EXPECT_TRUE(dropped);
  EXPECT_EQ(copied, 0u);
  EXPECT_FALSE(r.in_place());
  EXPECT_EQ(r.readable_size(), 0u);
  EXPECT_EQ(refused, 1u);
}
