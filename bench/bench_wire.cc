// Micro-benchmarks of lib/wire and the endpoint's echo path. Each compares
// against a baseline measured in the same run where one exists (the textbook
// RFC 1071 loop for the checksum). Timings only; tests assert behaviour.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "util/rng.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"
#include "wire/ethernet.hh"
#include "wire/icmp.hh"
#include "wire/ipv4.hh"
#include "wire/tcp.hh"

using namespace ts;

namespace {

std::vector<uint8_t> random_bytes(size_t n) {
  util::Rng rng(1);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng.next());
  return v;
}

// RFC 1071 section 4.1, 16 bits at a time: the baseline.
uint16_t textbook_sum(const uint8_t* p, size_t len) {
  uint32_t sum = 0;
  while (len > 1) {
    sum += uint32_t(p[0]) << 8 | p[1];
    p += 2;
    len -= 2;
  }
  if (len) sum += uint32_t(p[0]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

void BM_Checksum(benchmark::State& state) {
  const auto buf = random_bytes(size_t(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(wire::ones_sum(buf.data(), buf.size()));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Checksum)->Arg(20)->Arg(64)->Arg(576)->Arg(1500)->Arg(9000);

void BM_ChecksumTextbookBaseline(benchmark::State& state) {
  const auto buf = random_bytes(size_t(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(textbook_sum(buf.data(), buf.size()));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ChecksumTextbookBaseline)->Arg(20)->Arg(64)->Arg(576)->Arg(1500)->Arg(9000);

void BM_ChecksumIncremental(benchmark::State& state) {
  uint16_t hc = 0x1234, w = 0;
  for (auto _ : state) {
    hc = wire::checksum_update16(hc, w, uint16_t(w + 1));
    ++w;
    benchmark::DoNotOptimize(hc);
  }
}
BENCHMARK(BM_ChecksumIncremental);

// A data segment as Linux sends it: Ethernet, IPv4, TCP with timestamps, 1448 bytes.
std::vector<uint8_t> tcp_frame(size_t payload) {
  const auto src = wire::Ipv4Addr::from_octets(10, 0, 0, 1), dst = wire::Ipv4Addr::from_octets(10, 0, 0, 2);
  wire::TcpRepr t;
  t.src_port = 40000;
  t.dst_port = 80;
  t.seq = 1;
  t.ack = 1;
  t.flags = wire::tcpflag::ack | wire::tcpflag::psh;
  t.window = 501;
  t.options.has_timestamps = true;
  t.options.tsval = 1;
  t.options.tsecr = 2;
  const size_t tcp_len = t.header_len() + payload;
  std::vector<uint8_t> f(14 + 20 + tcp_len, 0x5a);
  wire::EthernetRepr{wire::MacAddr{{2, 0, 0, 0, 0, 2}}, wire::MacAddr{{2, 0, 0, 0, 0, 1}},
                     wire::ethertype::ipv4, false, 0, 0}
      .emit({f.data(), 14});
  t.emit_header({f.data() + 34, tcp_len}, src, dst);
  wire::Ipv4Repr ip;
  ip.src = src;
  ip.dst = dst;
  ip.protocol = wire::ipproto::tcp;
  ip.payload_len = uint16_t(tcp_len);
  ip.emit({f.data() + 14, 20});
  return f;
}

void BM_ParseEthIpv4Tcp(benchmark::State& state) {
  const bool verify = state.range(0) != 0;
  const auto f = tcp_frame(1448);
  const auto mode = verify ? wire::CsumCheck::verify : wire::CsumCheck::trust;
  for (auto _ : state) {
    wire::EthernetView eth(f);
    benchmark::DoNotOptimize(eth.check());
    wire::Ipv4View iv(eth.payload());
    wire::Ipv4Repr ip;
    benchmark::DoNotOptimize(wire::Ipv4Repr::parse(iv, ip, mode));
    wire::TcpRepr t;
    benchmark::DoNotOptimize(wire::TcpRepr::parse(wire::TcpView(iv.payload()), ip.src, ip.dst, t, mode));
    benchmark::DoNotOptimize(t);
  }
  state.SetLabel(verify ? "checksums verified in software" : "checksums trusted (offload)");
}
BENCHMARK(BM_ParseEthIpv4Tcp)->Arg(1)->Arg(0);

void BM_ParseTcpSynOptions(benchmark::State& state) {
  const uint8_t opts[] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
  for (auto _ : state) {
    wire::TcpOptions o;
    benchmark::DoNotOptimize(wire::TcpOptions::parse(opts, o));
    benchmark::DoNotOptimize(o);
  }
}
BENCHMARK(BM_ParseTcpSynOptions);

void BM_EmitTcpSegment(benchmark::State& state) {
  auto f = tcp_frame(size_t(state.range(0)));
  const auto src = wire::Ipv4Addr::from_octets(10, 0, 0, 1), dst = wire::Ipv4Addr::from_octets(10, 0, 0, 2);
  wire::TcpRepr t;
  t.flags = wire::tcpflag::ack;
  t.options.has_timestamps = true;
  t.options.sack_count = 1;
  t.options.sack[0] = {100, 200};
  const size_t tcp_len = f.size() - 34;
  for (auto _ : state) {
    ++t.seq;
    t.emit_header({f.data() + 34, tcp_len}, src, dst);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_EmitTcpSegment)->Arg(0)->Arg(1448);

// The endpoint's whole echo path per packet: rx, parse, in-place reply, ARP
// lookup, tx, through the in-memory device.
void BM_StackEchoReply(benchmark::State& state) {
  const auto mac = *wire::MacAddr::parse("02:00:00:00:00:02");
  stack::MemDevice dev(mac, 256);
  stack::StackConfig cfg;
  cfg.addr = *wire::Ipv4Cidr::parse("10.0.0.2/24");
  stack::Stack st(dev, cfg);
  stack::MemDevice peer(*wire::MacAddr::parse("02:00:00:00:00:01"), 256);
  dev.wire_to(&peer);
  // Teach the stack the peer's MAC with one ARP request.
  const uint8_t arp[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1,
                         0x08, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                         10, 0, 0, 2};
  dev.inject(arp);
  st.poll(0);
  stack::Packet drain[64];
  for (uint16_t n = peer.rx_burst(drain, 64, 0); n; --n) peer.free(drain[n - 1]);
  std::vector<uint8_t> req(14 + 20 + 8 + 56);
  wire::EthernetRepr{mac, *wire::MacAddr::parse("02:00:00:00:00:01"), wire::ethertype::ipv4, false, 0, 0}
      .emit({req.data(), 14});
  std::vector<uint8_t> payload(56, 0x61);
  std::memcpy(req.data() + 42, payload.data(), 56);
  wire::IcmpRepr{wire::icmptype::echo_request, 0, 1, 1, payload}.emit_header({req.data() + 34, 64});
  wire::Ipv4Repr ip;
  ip.src = wire::Ipv4Addr::from_octets(10, 0, 0, 1);
  ip.dst = cfg.addr.addr;
  ip.protocol = wire::ipproto::icmp;
  ip.payload_len = 64;
  ip.emit({req.data() + 14, 20});
  uint64_t now = 1;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < 32; ++i) dev.inject(req);
    state.ResumeTiming();
    st.poll(++now);
    state.PauseTiming();
    for (uint16_t n = peer.rx_burst(drain, 64, 0); n; --n) peer.free(drain[n - 1]);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 32);
  state.SetLabel("per burst of 32 echo requests");
}
BENCHMARK(BM_StackEchoReply);

}  // namespace

BENCHMARK_MAIN();
