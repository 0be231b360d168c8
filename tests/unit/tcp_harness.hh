// A connection under test: segments go into a list instead of onto a wire,
// the application's events are recorded, time is whatever the test says, and
// the peer is played by hand-written segments.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "tcp/connection.hh"
#include "tcp/seq.hh"
#include "wire/tcp.hh"

namespace ts::test {

using namespace ts::tcp;
namespace flag = ts::wire::tcpflag;

struct Sent {
  SegmentOut seg;
  std::vector<uint8_t> payload;
  uint32_t len() const { return uint32_t(payload.size()); }
  bool has(uint8_t f) const { return (seg.flags & f) == f; }
};

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
    data.insert(data.end(), b.a.begin(), b.a.end());
    data.insert(data.end(), b.b.begin(), b.b.end());
    c.consume(b.size(), *now);
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
    conn = std::make_unique<Connection>(cfg, tuple, out, ctr, &app);
  }

  // A segment from the peer. Options live in the harness until the next call.
  SegmentIn seg(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window = 65535,
                std::vector<uint8_t> payload = {}, wire::TcpOptions opts = {}) {
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
  // Advances time to t and runs due timers.
  void at(uint64_t t) {
    now = t;
    if (conn->next_deadline() <= now) conn->on_timer(now);
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
  void note(const std::vector<Sent>& v) {
    for (const auto& s : v)
      if (s.seg.options.has_timestamps) last_seen_tsval = s.seg.options.tsval;
  }

  TcpConfig cfg;
  TcpCounters ctr;
  Recorder out;
  App app;
  FourTuple tuple;
  std::unique_ptr<Connection> conn;
  uint64_t now = 1 * kSec;
  uint32_t peer_ts = 100000;  // above any SYN timestamp the tests use
  uint32_t peer_nxt = 0, our_nxt = 0;
  uint32_t last_seen_tsval = 0;

 private:
  std::deque<wire::TcpOptions> opts_;
  std::deque<std::vector<uint8_t>> payloads_;
};

inline std::vector<uint8_t> bytes(size_t n, uint8_t seed = 1) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

}  // namespace ts::test
