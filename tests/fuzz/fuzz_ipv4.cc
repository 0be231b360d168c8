// IPv4: both checksum modes; an accepted header's payload lies inside the
// buffer, and its fields re-emitted give a header that parses to the same.
// The one-pass parser of the common TCP segment (wire/ipv4_tcp.hh) takes
// nothing the general parsers refuse, and agrees with them on what it takes.
#include <vector>

#include "fuzz_common.hh"
#include "wire/checksum.hh"
#include "wire/ipv4.hh"
#include "wire/ipv4_tcp.hh"
#include "wire/tcp.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts::wire;
  for (CsumCheck mode : {CsumCheck::verify, CsumCheck::trust}) {
    Ipv4Repr fast_ip, ip;
    TcpRepr fast, t;
    if (parse_ipv4_tcp_common({data, size}, mode, mode, fast_ip, fast)) {
      Ipv4View g({data, size});
      TS_FUZZ_ASSERT(Ipv4Repr::parse(g, ip, mode) == Error::ok && ip.protocol == ipproto::tcp);
      TS_FUZZ_ASSERT(TcpRepr::parse(TcpView(g.payload()), ip.src, ip.dst, t, mode) == Error::ok);
      TS_FUZZ_ASSERT(fast_ip.src == ip.src && fast_ip.dst == ip.dst && fast_ip.ttl == ip.ttl &&
                     fast_ip.tos == ip.tos && fast_ip.ident == ip.ident &&
                     fast_ip.dont_frag == ip.dont_frag && fast_ip.payload_len == ip.payload_len);
      TS_FUZZ_ASSERT(fast.src_port == t.src_port && fast.dst_port == t.dst_port &&
                     fast.seq == t.seq && fast.ack == t.ack && fast.flags == t.flags &&
                     fast.window == t.window && fast.urgent == t.urgent && fast.options == t.options &&
                     fast.payload.data() == t.payload.data() &&
                     fast.payload.size() == t.payload.size());
    }
    Ipv4View v({data, size});
    Ipv4Repr r;
    if (Ipv4Repr::parse(v, r, mode) != Error::ok) continue;
    auto payload = v.payload();
    TS_FUZZ_ASSERT(payload.data() >= data && payload.data() + payload.size() <= data + size);
    TS_FUZZ_ASSERT(payload.size() == r.payload_len);
    std::vector<uint8_t> out(kIpv4HeaderLen + r.payload_len);
    r.emit(out);
    TS_FUZZ_ASSERT(ones_sum(out.data(), kIpv4HeaderLen) == 0xffff);
    Ipv4Repr back;
    TS_FUZZ_ASSERT(Ipv4Repr::parse(Ipv4View(out), back) == Error::ok);
    TS_FUZZ_ASSERT(back.src == r.src && back.dst == r.dst && back.protocol == r.protocol &&
                   back.ttl == r.ttl && back.payload_len == r.payload_len);
  }
  return 0;
}
