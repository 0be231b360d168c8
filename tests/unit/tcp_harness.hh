// A connection under test: segments go into a list instead of onto a wire,
// the application's events are recorded, time is whatever the test says, and
// the peer is played by hand-written segments.
#pragma once

#include <deque>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "tcp/connection.hh"
#include "tcp/seq.hh"
#include "wire/tcp.hh"

namespace ts::test {

using namespace ts::tcp;
namespace flag = ts::wire::tcpflag;

// A segment the connection sent, or one a test expects it to send: compared
// whole (every header field, the options and the payload), as smoltcp's
// recv! compares whole representations. Built by Harness::ours() with the
// fields a segment of the connection usually has, then changed where the
// test's point lies.
struct Sent {
  SegmentOut seg;
  std::vector<uint8_t> payload;
  uint32_t len() const { return uint32_t(payload.size()); }
  bool has(uint8_t f) const { return (seg.flags & f) == f; }
  bool operator==(const Sent&) const = default;

  Sent& window(uint16_t w) {
    seg.window = w;
    return *this;
  }
  Sent& options(const wire::TcpOptions& o) {
    seg.options = o;
    return *this;
  }
  Sent& sack(std::initializer_list<wire::SackBlock> blocks) {
    seg.options.sack_count = 0;
    for (const auto& b : blocks) seg.options.sack[seg.options.sack_count++] = b;
    return *this;
  }
  Sent& tsecr(uint32_t v) {
    seg.options.tsecr = v;
    return *this;
  }
};

inline std::string flag_letters(uint8_t f) {
  std::string s;
  for (auto [bit, c] : {std::pair{flag::syn, 'S'}, {flag::fin, 'F'}, {flag::rst, 'R'},
                        {flag::psh, 'P'}, {flag::ack, '.'}})
    if (f & bit) s += c;
  return s;
}

// How gtest prints a segment when a comparison fails.
inline void PrintTo(const Sent& x, std::ostream* os) {
  const SegmentOut& s = x.seg;
  const wire::TcpOptions& o = s.options;
  *os << "[" << flag_letters(s.flags) << " seq " << s.seq << " ack " << s.ack << " win "
      << s.window << " len " << x.payload.size();
  if (o.has_mss) *os << " mss " << o.mss;
  if (o.has_wscale) *os << " ws " << unsigned(o.wscale);
  if (o.sack_permitted) *os << " sackOK";
  if (o.has_timestamps) *os << " ts " << o.tsval << "/" << o.tsecr;
  for (unsigned i = 0; i < o.sack_count && i < wire::kMaxSackBlocks; ++i)
    *os << " sack " << o.sack[i].left << "-" << o.sack[i].right;
  *os << "]";
}

class Recorder : public Output {
 public:
  bool emit(const Connection&, const SegmentOut& s, const Payload& p) override {
    if (fail) return false;
    Sent x{s, {}};
    p.append_to(x.payload);
    sent.push_back(std::move(x));
    return true;
  }
  std::vector<Sent> sent;
  bool fail = false;
};

class App : public Events {
 public:
  void on_connected(Connection&) override { ++connected; }
  void on_readable(Connection& c) override {
    ++readable;
    if (!auto_read) return;
    Bytes2 b = c.readable();
    std::vector<uint8_t> all(b.a.begin(), b.a.end());
    all.insert(all.end(), b.b.begin(), b.b.end());
    all.resize(std::min(all.size(), read_at_most));
    data.insert(data.end(), all.begin(), all.end());
    c.consume(all.size(), *now);
  }
  void on_writable(Connection&) override { ++writable; }
  void on_peer_closed(Connection&) override { ++peer_closed; }
  void on_closed(Connection&, CloseReason r) override {
    ++closed;
    reason = r;
  }
  int connected = 0, readable = 0, writable = 0, peer_closed = 0, closed = 0;
  CloseReason reason = CloseReason::normal;
  std::vector<uint8_t> data;
  bool auto_read = true;
  size_t read_at_most = SIZE_MAX;  // of what is readable, each time
  const uint64_t* now = nullptr;
};

inline constexpr uint64_t kMs = 1'000'000;
inline constexpr uint64_t kSec = 1'000'000'000;

struct Harness {
  explicit Harness(TcpConfig c = TcpConfig{}) : cfg(c) {
    app.now = &now;
    tuple.local_ip = wire::Ipv4Addr::from_octets(10, 0, 0, 1);
    tuple.remote_ip = wire::Ipv4Addr::from_octets(10, 0, 0, 2);
    tuple.local_port = 40000;
    tuple.remote_port = 80;
    conn = std::make_unique<Connection>(&cfg, tuple, host, &app);
  }

  // A segment from the peer. Options live in the harness until the next call.
  SegmentIn seg(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window = 65535,
                std::vector<uint8_t> payload = {}, wire::TcpOptions opts = {}) {
    if (opts.has_timestamps) peer_tsval = opts.tsval;
    if (flags & flag::syn) peer_wscale = opts.has_wscale;
    opts_.push_back(opts);
    payloads_.push_back(std::move(payload));
    SegmentIn s;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.window = window;
    s.options = &opts_.back();
    s.payload = payloads_.back();
    return s;
  }
  void in(const SegmentIn& s) { conn->input(s, now); }
  std::vector<Sent> take() {
    std::vector<Sent> v;
    v.swap(out.sent);
    return v;
  }
  // Runs timers until none is due at or before t.
  void run_until(uint64_t t) {
    for (int guard = 0; guard < 10000 && conn->next_deadline() <= t; ++guard) {
      now = conn->next_deadline();
      conn->on_timer(now);
    }
    now = t;
  }

  static wire::TcpOptions syn_opts(uint16_t mss = 1460, int wscale = 7, bool sack = true,
                                   bool ts = true, uint32_t tsval = 5000) {
    wire::TcpOptions o;
    o.has_mss = true;
    o.mss = mss;
    if (wscale >= 0) {
      o.has_wscale = true;
      o.wscale = uint8_t(wscale);
    }
    o.sack_permitted = sack;
    if (ts) {
      o.has_timestamps = true;
      o.tsval = tsval;
    }
    return o;
  }
  wire::TcpOptions ts_opts(uint32_t tsecr) {
    wire::TcpOptions o;
    o.has_timestamps = true;
    o.tsval = ++peer_ts;
    o.tsecr = tsecr;
    return o;
  }

  // Brings the connection to ESTABLISHED as the active opener: our ISS is
  // `iss`, the peer's `irs`; returns after the handshake ACK was taken.
  void establish_active(uint32_t iss = 1000, uint32_t irs = 5000,
                        wire::TcpOptions peer = syn_opts()) {
    conn->connect(iss, 0, now);
    auto syn = take();
    if (peer.has_timestamps && !syn.empty()) peer.tsecr = syn[0].seg.options.tsval;
    now += 10 * kMs;
    in(seg(irs, iss + 1, flag::syn | flag::ack, 65535, {}, peer));
    take();
    peer_nxt = irs + 1;
    our_nxt = iss + 1;
  }

  // ACK from the peer for everything we sent, with a window and timestamps.
  SegmentIn ack_all(uint16_t window = 65535) {
    const uint32_t tsecr = last_tsval();
    return seg(peer_nxt, conn->snd_nxt(), flag::ack, window, {},
               conn->timestamps_enabled() ? ts_opts(tsecr) : wire::TcpOptions{});
  }
  SegmentIn data(uint32_t seq, std::vector<uint8_t> bytes, uint8_t extra = 0) {
    return seg(seq, conn->snd_nxt(), flag::ack | extra, 65535, std::move(bytes),
               conn->timestamps_enabled() ? ts_opts(last_tsval()) : wire::TcpOptions{});
  }
  uint32_t last_tsval() const { return last_seen_tsval; }

  // The segment the connection would send now with these fields: the window
  // (see window()), and the timestamps (our clock in ms with offset 0,
  // echoing the peer's latest segment) when agreed.
  Sent ours(uint8_t flags, uint32_t seq, uint32_t ack, std::vector<uint8_t> payload = {},
            size_t short_by = 0) const {
    Sent x;
    x.seg.seq = seq;
    x.seg.ack = ack;
    x.seg.flags = flags;
    x.seg.window = window(short_by);
    if (conn->timestamps_enabled()) {
      x.seg.options.has_timestamps = true;
      x.seg.options.tsval = uint32_t(now / kMs);
      x.seg.options.tsecr = peer_tsval;
    }
    x.payload = std::move(payload);
    return x;
  }
  // A reset as the connection sends it: no ACK, no window, no options.
  static Sent rst(uint32_t seq) {
    Sent x;
    x.seg.seq = seq;
    x.seg.flags = flag::rst;
    return x;
  }
  // Our receive window field when the window is `short_by` bytes short of
  // the whole buffer: bytes the application has not read, or bytes received
  // since the advertised edge last moved (it moves only in steps of an MSS,
  // RFC 9293 3.8.6.2.2). Scaled as the peer's SYN allowed.
  uint16_t window(size_t short_by = 0) const {
    const uint64_t free = cfg.rcvbuf - short_by;
    unsigned shift = 0;
    if (peer_wscale)
      while (shift < 14 && (uint64_t(cfg.rcvbuf) >> shift) > 65535) ++shift;
    return uint16_t(std::min<uint64_t>(free >> shift, 65535));
  }
  // What was sent since the last look (their timestamps noted).
  std::vector<Sent> sent() {
    auto v = take();
    note(v);
    return v;
  }
  void note(const std::vector<Sent>& v) {
    for (const auto& s : v)
      if (s.seg.options.has_timestamps) last_seen_tsval = s.seg.options.tsval;
  }

  TcpConfig cfg;
  TcpCounters ctr;
  Recorder out;
  Host host{out, ctr};
  App app;
  FourTuple tuple;
  std::unique_ptr<Connection> conn;
  uint64_t now = 1 * kSec;
  uint32_t peer_ts = 100000;  // above any SYN timestamp the tests use
  uint32_t peer_nxt = 0, our_nxt = 0;
  uint32_t last_seen_tsval = 0;
  bool peer_wscale = false;  // the peer's SYN offered window scaling
  uint32_t peer_tsval = 0;   // the timestamp of the peer's latest segment

 private:
  std::deque<wire::TcpOptions> opts_;
  std::deque<std::vector<uint8_t>> payloads_;
};

// With establish_active()'s defaults our data starts at 1001 (ISS 1000) and
// the peer's at 5001.
inline constexpr uint32_t kData = 1001;

inline uint32_t total_len(const std::vector<Sent>& v) {
  uint32_t n = 0;
  for (const auto& s : v) n += s.len();
  return n;
}

// Two connections joined back to back, segments delivered by hand.
struct Pair {
  struct Link : Output {
    bool emit(const Connection&, const SegmentOut& s, const Payload& p) override {
      Sent x{s, {}};
      p.append_to(x.payload);
      q.push_back(std::move(x));
      return true;
    }
    std::deque<Sent> q;
  };
  Pair() {
    a_app.now = b_app.now = &now;
    FourTuple ta{wire::Ipv4Addr(0x0a000001), wire::Ipv4Addr(0x0a000002), 5000, 6000};
    FourTuple tb{wire::Ipv4Addr(0x0a000002), wire::Ipv4Addr(0x0a000001), 6000, 5000};
    a = std::make_unique<Connection>(&cfg, ta, a_host, &a_app);
    b = std::make_unique<Connection>(&cfg, tb, b_host, &b_app);
  }
  // Delivers everything queued from one side to the other, once.
  void deliver(Link& from, Connection& to) {
    std::deque<Sent> q;
    q.swap(from.q);
    for (const Sent& s : q) {
      opts.push_back(s.seg.options);
      payloads.push_back(s.payload);
      SegmentIn in{s.seg.seq, s.seg.ack, s.seg.flags, s.seg.window, 0, 0, &opts.back(), payloads.back()};
      to.input(in, now);
    }
  }
  TcpConfig cfg;  // the connections share it
  TcpCounters ctr;
  Link a_out, b_out;
  Host a_host{a_out, ctr}, b_host{b_out, ctr};
  App a_app, b_app;
  std::unique_ptr<Connection> a, b;
  std::deque<wire::TcpOptions> opts;
  std::deque<std::vector<uint8_t>> payloads;
  uint64_t now = kSec;
};

inline std::vector<uint8_t> bytes(size_t n, uint8_t seed = 1) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

// Bytes [off, off + n) of v.
inline std::vector<uint8_t> slice(const std::vector<uint8_t>& v, size_t off, size_t n) {
  return {v.begin() + long(off), v.begin() + long(off + n)};
}

// Expects exactly these segments to have been sent since the last look.
#define EXPECT_SENT(h, ...) EXPECT_EQ((h).sent(), (std::vector<::ts::test::Sent>{__VA_ARGS__}))

}  // namespace ts::test
