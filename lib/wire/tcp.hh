// TCP headers and options (RFC 9293, RFC 7323, RFC 2018, RFC 7413).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "wire/addr.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"
#include "wire/error.hh"

namespace ts::wire {

inline constexpr size_t kTcpHeaderLen = 20;
inline constexpr size_t kTcpMaxOptionsLen = 40;

namespace tcpflag {
inline constexpr uint8_t fin = 0x01;
inline constexpr uint8_t syn = 0x02;
inline constexpr uint8_t rst = 0x04;
inline constexpr uint8_t psh = 0x08;
inline constexpr uint8_t ack = 0x10;
inline constexpr uint8_t urg = 0x20;
inline constexpr uint8_t ece = 0x40;
inline constexpr uint8_t cwr = 0x80;
}  // namespace tcpflag

namespace tcpopt {
inline constexpr uint8_t eol = 0;
inline constexpr uint8_t nop = 1;
inline constexpr uint8_t mss = 2;
inline constexpr uint8_t wscale = 3;
inline constexpr uint8_t sack_permitted = 4;
inline constexpr uint8_t sack = 5;
inline constexpr uint8_t timestamps = 8;
inline constexpr uint8_t fastopen = 34;
}  // namespace tcpopt

struct SackBlock {
  // [left, right). Not zeroed by default: TcpOptions holds four whose unused
  // ones are never read (and zeroing them for every segment costs).
  uint32_t left, right;
  bool operator==(const SackBlock&) const = default;
};

inline constexpr size_t kMaxSackBlocks = 4;
inline constexpr size_t kMinFastOpenCookie = 4;
inline constexpr size_t kMaxFastOpenCookie = 16;

struct TcpOptions {
  // Every option but timestamps is marked in these six bytes, side by side,
  // so that at_most_timestamps() (asked several times for every segment) is
  // a test of them together. A new kind of option gets its mark here too,
  // and at_most_timestamps() (with its static_assert) the wider range.
  bool has_mss = false;
  bool has_wscale = false;
  bool sack_permitted = false;
  uint8_t sack_count = 0;
  bool has_fastopen = false;
  uint8_t unknown = 0;  // options of unknown kind skipped by their length
  bool has_timestamps = false;
  uint8_t wscale = 0;  // as received; RFC 7323 2.3 caps its use at 14, which is TCP's job
  uint16_t mss = 0;
  uint8_t fastopen_cookie_len = 0;  // 0 with has_fastopen: a cookie request
  uint32_t tsval = 0, tsecr = 0;
  // The first sack_count are the blocks, the first fastopen_cookie_len the
  // cookie; the rest is left as it is, unread. A default-initialised
  // TcpOptions (every segment sent) leaves them unzeroed; TcpOptions{}, as
  // the parser resets its output, zeroes them (docs/performance.md,
  // "Instructions").
  std::array<SackBlock, kMaxSackBlocks> sack;
  std::array<uint8_t, kMaxFastOpenCookie> fastopen_cookie;

  static Error parse(std::span<const uint8_t> opts, TcpOptions& out);
  // What nearly every segment after the SYNs carries (RFC 7323 appendix A's
  // layout, ours and Linux's): NOP, NOP, timestamps, and nothing else. When
  // `opts` is exactly that, takes the timestamps and returns true (one test
  // of the first word); parse() begins with it, and the stack's one-pass
  // parse (wire/ipv4_tcp.hh) calls it before parse().
  [[gnu::always_inline]] bool take_usual_timestamps(std::span<const uint8_t> opts) {
    constexpr uint32_t kNopNopTimestamps = uint32_t(tcpopt::nop) << 24 | uint32_t(tcpopt::nop) << 16 |
                                           uint32_t(tcpopt::timestamps) << 8 | 10u;
    if (opts.size() != 12 || load_be32(opts.data()) != kNopNopTimestamps) return false;
    has_timestamps = true;
    tsval = load_be32(opts.data() + 4);
    tsecr = load_be32(opts.data() + 8);
    return true;
  }
  // The same options: the SACK blocks and cookie bytes in use compare, the
  // rest of their arrays does not.
  bool operator==(const TcpOptions& o) const;
  // No option but timestamps (if any): every segment after the handshake.
  bool at_most_timestamps() const {
    // The six marks from has_mss to unknown, read as one (each is 0 when unset).
    static_assert(offsetof(TcpOptions, has_mss) == 0 && offsetof(TcpOptions, unknown) == 5);
    uint32_t a;
    uint16_t b;
    std::memcpy(&a, this, 4);
    std::memcpy(&b, reinterpret_cast<const unsigned char*>(this) + 4, 2);
    return (a | b) == 0;
  }
  // Encoded length, padded to 4 bytes, at most 40. SACK blocks that do not fit
  // are left out (the first ones are kept: RFC 2018 4 puts the newest first).
  size_t len() const {
    if (at_most_timestamps()) return has_timestamps ? kTimestampsLen : 0;
    return measure();
  }
  // Writes len() bytes and returns that length.
  size_t emit(uint8_t* out) const {
    if (at_most_timestamps()) return has_timestamps ? write_timestamps(out) : 0;
    return write(out);
  }

 private:
  // Every segment after the handshake of a connection with timestamps: NOP,
  // NOP, timestamps (RFC 7323 appendix A's layout), written at once, inline.
  static constexpr size_t kTimestampsLen = 12;
  size_t write_timestamps(uint8_t* out) const {
    out[0] = tcpopt::nop;
    out[1] = tcpopt::nop;
    out[2] = tcpopt::timestamps;
    out[3] = 10;
    store_be32(out + 4, tsval);
    store_be32(out + 8, tsecr);
    return kTimestampsLen;
  }
  size_t write(uint8_t* out) const;
  // What write() would return, counted without writing (a SYN's options are
  // measured, then written).
  size_t measure() const;
};

class TcpView {
 public:
  explicit TcpView(std::span<const uint8_t> seg) : b_(seg) {}
  Error check() const;  // lengths only
  uint16_t src_port() const { return load_be16(&b_[0]); }
  uint16_t dst_port() const { return load_be16(&b_[2]); }
  uint32_t seq() const { return load_be32(&b_[4]); }
  uint32_t ack() const { return load_be32(&b_[8]); }
  size_t header_len() const { return size_t(b_[12] >> 4) * 4; }
  uint8_t flags() const { return b_[13]; }
  uint16_t window() const { return load_be16(&b_[14]); }
  uint16_t checksum() const { return load_be16(&b_[16]); }
  uint16_t urgent() const { return load_be16(&b_[18]); }
  bool checksum_ok(Ipv4Addr src, Ipv4Addr dst) const;
  std::span<const uint8_t> options() const {
    return b_.subspan(kTcpHeaderLen, header_len() - kTcpHeaderLen);
  }
  std::span<const uint8_t> payload() const { return b_.subspan(header_len()); }

 private:
  std::span<const uint8_t> b_;
};

struct TcpRepr {
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire, before scaling
  uint16_t urgent = 0;
  // A segment standing for several: the payload size of each (the last may
  // be shorter); 0 for a segment that is just itself. Received, they were
  // merged by receive coalescing or came as the peer's TSO frame; to send,
  // the device cuts the payload into them (TSO). docs/performance.md,
  // "Receive coalescing" and "Segmentation offload". Never on the wire.
  uint16_t seg_size = 0;
  TcpOptions options;
  std::span<const uint8_t> payload;

  // Checks lengths, then the checksum, then the options.
  static Error parse(TcpView v, Ipv4Addr src, Ipv4Addr dst, TcpRepr& out,
                     CsumCheck csum = CsumCheck::verify);
  size_t header_len() const { return kTcpHeaderLen + options.len(); }
  // `seg` is header_len() + payload.size() bytes, the payload already in place
  // after the header; writes the header, the options and the checksum.
  void emit_header(std::span<uint8_t> seg, Ipv4Addr src, Ipv4Addr dst,
                   CsumFill csum = CsumFill::full) const;
};

}  // namespace ts::wire
