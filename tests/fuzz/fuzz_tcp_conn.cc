// One TCP connection driven by arbitrary input under a virtual clock: segments
// built relative to the connection's own sequence numbers (so the fuzzer gets
// past the acceptability checks into every state), application calls, and
// time passing. Properties: no crash or sanitizer report, no runaway loop,
// sequence variables stay ordered, delivered bytes are exactly what the peer
// sent in order, and every deadline lies in the future after on_timer().
//
// Input: records of 16 bytes:
//   [0] op   [1] flags  [2..3] seq delta  [4..5] ack delta  [6..7] window
//   [8] payload length / 8   [9] option selector   [10..11] time step (us * 64)
//   [12..15] extra
#include <cstring>
#include <deque>
#include <vector>

#include "fuzz_common.hh"
#include "tcp/connection.hh"
#include "tcp/seq.hh"
#include "wire/bytes.hh"

using namespace ts;
using namespace ts::tcp;

namespace {

struct Sink : Output {
  bool emit(const Connection&, const SegmentOut& s, const Payload& p) override {
    last = s;
    bytes += p.size();
    ++count;
    return !fail;
  }
  SegmentOut last;
  uint64_t bytes = 0, count = 0;
  bool fail = false;
};

struct App : Events {
  void on_readable(Connection& c) override {
    // Bytes seen before but not consumed are offered again: skip them.
    Bytes2 b = c.readable();
    uint64_t skip = delivered - c.bytes_consumed();
    for (auto part : {b.a, b.b})
      for (uint8_t x : part) {
        if (skip) {
          --skip;
          continue;
        }
        // The peer's payload bytes are (stream offset) & 0xff: a wrong byte or
        // a byte out of order shows.
        TS_FUZZ_ASSERT(x == uint8_t(delivered));
        ++delivered;
      }
    if (read) c.consume(b.size(), *now);
  }
  void on_closed(Connection&, CloseReason) override { closed = true; }
  uint64_t delivered = 0;
  bool read = true, closed = false;
  const uint64_t* now = nullptr;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  TcpConfig cfg;
  cfg.rcvbuf = 16 * 1024;
  cfg.sndbuf = 16 * 1024;
  cfg.keepalive = data[0] & 1;
  cfg.keepalive_idle_ns = 2'000'000'000;
  cfg.sack = data[0] & 2;
  cfg.timestamps = data[0] & 4;
  cfg.nodelay = data[0] & 8;
  cfg.cc = (data[0] & 16) ? CcAlgo::newreno : CcAlgo::cubic;
  cfg.msl_ns = 1'000'000'000;
  Sink out;
  TcpCounters ctr;
  App app;
  uint64_t now = 1'000'000'000;
  app.now = &now;
  FourTuple t{wire::Ipv4Addr(0x0a000001), wire::Ipv4Addr(0x0a000002), 40000, 80};
  const Host host{out, ctr};
  Connection c(&cfg, t, host, &app);
  const bool passive = data[1] & 1;
  // The peer's ISN is 7000 either way, so its byte at sequence s has stream
  // offset s - 7001, and the payload it sends carries that offset.
  const uint32_t peer_data = 7001;
  uint32_t peer_seq = 7000;
  std::deque<wire::TcpOptions> opts;
  std::vector<uint8_t> payload(4096);  // the largest send or segment a record can ask for
  if (passive) {
    wire::TcpOptions o;
    o.has_mss = true;
    o.mss = 1460;
    o.has_wscale = data[1] & 2;
    o.wscale = 7;
    o.sack_permitted = data[1] & 4;
    o.has_timestamps = data[1] & 8;
    o.tsval = 100;
    opts.push_back(o);
    SegmentIn syn{peer_seq, 0, wire::tcpflag::syn, 65535, 0, 0, &opts.back(), {}};
    c.accept(syn, 3000, 0, now);
  } else {
    c.connect(3000, 0, now);
  }
  uint32_t tsval = 200;
  for (size_t i = 2; i + 16 <= size && !c.finished(); i += 16) {
    const uint8_t* r = data + i;
    const uint8_t op = r[0] % 8;
    now += uint64_t(wire::load_be16(r + 10)) * 64'000;
    switch (op) {
      case 0:
      case 1:
      case 2: {  // a segment from the peer
        const int16_t dseq = int16_t(wire::load_be16(r + 2));
        const int16_t dack = int16_t(wire::load_be16(r + 4));
        const size_t len = size_t(r[8]) * 8;
        wire::TcpOptions o;
        const uint8_t sel = r[9];
        if (sel & 1) {
          o.has_timestamps = true;
          o.tsval = (sel & 2) ? tsval - 1000 : ++tsval;
          o.tsecr = wire::load_be32(r + 12);
        }
        if (sel & 4) {
          o.sack_count = uint8_t(1 + (sel >> 6));
          for (unsigned b = 0; b < o.sack_count; ++b) {
            const uint32_t left = c.snd_una() + uint32_t(r[12 + b] ) * 100;
            o.sack[b] = {left, left + 1 + uint32_t(r[13]) * 50};
          }
        }
        if (sel & 8) {
          o.has_mss = true;
          o.mss = uint16_t(wire::load_be16(r + 12));
        }
        opts.push_back(o);
        if (opts.size() > 8) opts.pop_front();
        SegmentIn s;
        s.flags = r[1];
        // Relative to what the connection expects, so that many segments land.
        s.seq = (op == 2 ? peer_seq : c.rcv_nxt()) + uint32_t(dseq);
        s.ack = c.snd_nxt() + uint32_t(dack);
        if (c.state() == State::syn_sent && (s.flags & wire::tcpflag::syn)) s.seq = 7000;
        // Data starts after a SYN's own sequence number.
        const uint32_t first = s.seq + ((s.flags & wire::tcpflag::syn) ? 1 : 0);
        for (size_t k = 0; k < len; ++k) payload[k] = uint8_t(first + uint32_t(k) - peer_data);
        s.window = wire::load_be16(r + 6);
        s.options = &opts.back();
        s.payload = {payload.data(), len};
        c.input(s, now);
        peer_seq = c.rcv_nxt();
        break;
      }
      case 3:
        c.send({payload.data(), size_t(r[8]) * 16}, now);
        break;
      case 4:
        app.read = r[1] & 1;
        c.consume(size_t(r[8]) * 64, now);
        break;
      case 5:
        if (r[1] & 1)
          c.shutdown(now);
        else if (r[1] & 2)
          c.close(now);
        else if (r[1] == 0xff)
          c.abort();
        break;
      case 6:
        out.fail = r[1] & 1;
        break;
      default:
        break;
    }
    // Timers: run what is due; after that nothing may be due any more.
    for (int guard = 0; c.next_deadline() <= now; ++guard) {
      TS_FUZZ_ASSERT(guard < 4);
      c.on_timer(now);
    }
    if (c.state() != State::closed && c.state() != State::syn_sent &&
        c.state() != State::syn_received) {
      TS_FUZZ_ASSERT(seq_le(c.snd_una(), c.snd_nxt()));
    }
    TS_FUZZ_ASSERT(app.delivered <= c.bytes_received());
  }
  // Let every timer run out: a finite number of steps must end the connection
  // or leave it idle.
  for (int k = 0; k < 1000 && c.next_deadline() != UINT64_MAX; ++k) {
    now = std::max(now, c.next_deadline());
    c.on_timer(now);
  }
  return 0;
}
