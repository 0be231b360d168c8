// The TCP per-segment cases shared by the Google Benchmark (bench_tcp.cc) and
// the instruction counter (tcp_instructions.cc, run under callgrind).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "tcp/connection.hh"

namespace ts::bench {

// Discards what a connection sends.
struct NullOutput : tcp::Output {
  bool emit(const tcp::Connection&, const tcp::SegmentOut&, const tcp::Payload&) override {
    ++segments;
    return true;
  }
  uint64_t segments = 0;
};

struct Reader : tcp::Events {
  void on_readable(tcp::Connection& c) override { c.consume(c.readable().size(), *now); }
  const uint64_t* now = nullptr;
};

inline tcp::FourTuple tuple() {
  return {wire::Ipv4Addr(0x0a000001), wire::Ipv4Addr(0x0a000002), 40000, 80};
}

// An established connection, the peer's segments made by hand.
struct ConnFixture {
  ConnFixture() {
    cfg.rcvbuf = cfg.sndbuf = 4u << 20;
    reader.now = &now;
    conn = std::make_unique<tcp::Connection>(&cfg, tuple(), host, &reader);
    conn->connect(1000, 0, now);
    syn_opts.has_mss = true;
    syn_opts.mss = 1460;
    syn_opts.has_wscale = true;
    syn_opts.wscale = 7;
    syn_opts.sack_permitted = true;
    syn_opts.has_timestamps = true;
    syn_opts.tsval = 1;
    syn_opts.tsecr = 1000;
    tcp::SegmentIn synack{5000, 1001, wire::tcpflag::syn | wire::tcpflag::ack, 65535, 0, 0, &syn_opts, {}};
    now += 1'000'000;
    conn->input(synack, now);
    ts_opts.has_timestamps = true;
    payload.assign(1448, 0x5a);
  }
  tcp::SegmentIn data(uint32_t seq) {
    ts_opts.tsval = ++tsval;
    return {seq, conn->snd_nxt(), wire::tcpflag::ack, 65535, 0, 0, &ts_opts, payload};
  }
  tcp::SegmentIn ack(uint32_t ackno) {
    ts_opts.tsval = ++tsval;
    return {peer_seq, ackno, wire::tcpflag::ack, 65535, 0, 0, &ts_opts, {}};
  }

  tcp::TcpConfig cfg;  // the connection shares it
  NullOutput out;
  tcp::TcpCounters ctr;
  tcp::Host host{out, ctr};
  Reader reader;
  std::unique_ptr<tcp::Connection> conn;
  wire::TcpOptions syn_opts, ts_opts;
  std::vector<uint8_t> payload;
  uint64_t now = 1'000'000'000;
  uint32_t tsval = 100, peer_seq = 5001;
};

// Receiver: one in-order, full-sized data segment (and the application reading it).
struct ReceiveCase {
  ConnFixture f;
  uint32_t seq = 5001;
  void step() {
    f.now += 1000;
    f.conn->input(f.data(seq), f.now);
    seq += 1448;
  }
};

// Sender: one ACK for one segment, which opens room for the next one.
struct AckCase {
  ConnFixture f;
  uint32_t acked = 1001;
  std::vector<uint8_t> chunk = std::vector<uint8_t>(64 * 1024, 0x33);
  AckCase() {
    f.conn->send(chunk, f.now);
  }
  void step() {
    f.now += 1000;
    if (f.conn->send_space() >= chunk.size()) f.conn->send(chunk, f.now);
    acked += 1448;
    f.conn->input(f.ack(acked), f.now);
  }
};

// Building one outgoing data segment into a packet: headers, options, copying
// the payload in, both checksums, the route and ARP lookup (Stack::send_tcp).
// Frees whatever a device flushes (so measuring a sender does not measure
// recording its frames).
struct Discard : stack::FrameSink {
  explicit Discard(stack::MemDevice& d) : dev(d) {}
  void take(stack::Packet& p, uint64_t) override { dev.free(p); }
  stack::MemDevice& dev;
};

struct BuildCase {
  stack::MemDevice dev{*wire::MacAddr::parse("02:00:00:00:00:01"), 256};
  Discard discard{dev};
  std::unique_ptr<stack::Stack> st;
  wire::TcpRepr seg;
  std::vector<uint8_t> payload = std::vector<uint8_t>(1448, 0x42);
  uint64_t now = 1;
  BuildCase() {
    stack::StackConfig cfg;
    cfg.addr = *wire::Ipv4Cidr::parse("10.0.0.1/24");
    st = std::make_unique<stack::Stack>(dev, cfg);
    // Teach the stack the peer's MAC with one ARP request.
    const uint8_t arp[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x06, 0, 1,
                           0x08, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0,
                           10, 0, 0, 1};
    dev.inject(arp);
    st->poll(0);
    dev.take_sent();
    dev.set_sink(&discard);
    seg.src_port = 40000;
    seg.dst_port = 80;
    seg.flags = wire::tcpflag::ack | wire::tcpflag::psh;
    seg.window = 1000;
    seg.options.has_timestamps = true;
  }
  void step() {
    seg.seq += 1448;
    seg.options.tsval = uint32_t(++now);
    st->send_tcp(wire::Ipv4Addr(0x0a000001), wire::Ipv4Addr(0x0a000002), seg,
                 {payload, {}}, now);
    st->device().flush(now);
  }
};

// The listener's side of a SYN flood: a SYN frame arrives (from one of 256
// source ports, a new sequence number each time), is parsed, finds no
// connection, and the listener answers with a SYN cookie: the keyed hash,
// the SYN-ACK built and sent (checksums left to the device, as on the
// in-process port). The frames are built once, by another stack.
struct SynCookieCase {
  struct Listen final : stack::Acceptor {
    tcp::Events* on_accept(const tcp::FourTuple&) override { return nullptr; }
  };
  stack::MemDevice dev{*wire::MacAddr::parse("02:00:00:00:00:01"), 1024};
  stack::MemDevice peer_dev{*wire::MacAddr::parse("02:00:00:00:00:02"), 1024};
  Discard discard{dev};
  std::unique_ptr<stack::Stack> st, peer;
  Listen app;
  std::vector<std::vector<uint8_t>> frames;
  size_t next = 0;
  uint64_t now = 1;
  SynCookieCase() {
    stack::StackConfig cfg;
    cfg.addr = *wire::Ipv4Cidr::parse("10.0.0.1/24");
    cfg.tcp.syncookies = stack::SynCookieMode::always;
    st = std::make_unique<stack::Stack>(dev, cfg);
    st->tcp().listen(80, &app);
    stack::StackConfig pcfg;
    pcfg.addr = *wire::Ipv4Cidr::parse("10.0.0.2/24");
    peer = std::make_unique<stack::Stack>(peer_dev, pcfg);
    peer_dev.set_in_process(true);
    dev.set_in_process(true);
    // Teach each the other's MAC, then have the peer build 256 SYNs.
    const uint8_t arp[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x06, 0, 1,
                           0x08, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0,
                           10, 0, 0, 1};
    dev.inject(arp);
    st->poll(0);
    for (auto& f : dev.take_sent()) peer_dev.inject(f);
    peer->poll(0);
    peer_dev.take_sent();
    for (uint16_t i = 0; i < 256; ++i) {
      wire::TcpRepr syn;
      syn.src_port = uint16_t(40000 + i);
      syn.dst_port = 80;
      syn.seq = 1000u * i;
      syn.flags = wire::tcpflag::syn;
      syn.window = 65535;
      syn.options.has_mss = true;
      syn.options.mss = 1460;
      peer->send_tcp(pcfg.addr.addr, cfg.addr.addr, syn, {}, 0);
      peer_dev.flush(0);
      for (auto& f : peer_dev.take_sent()) frames.push_back(std::move(f));
    }
    dev.take_sent();
    dev.set_sink(&discard);
  }
  // One SYN; the stack polls once per 32, a full receive burst, as under a flood.
  void step() {
    dev.inject(frames[next], stack::pktflag::rx_ip_csum_good | stack::pktflag::rx_l4_csum_good);
    next = (next + 1) % frames.size();
    if (next % 32 == 0) st->poll(++now);
  }
};

}  // namespace ts::bench
