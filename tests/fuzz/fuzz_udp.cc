// UDP: parse is bounded in both checksum modes; a parsed datagram re-emitted
// with a computed checksum verifies.
#include <vector>

#include "fuzz_common.hh"
#include "wire/udp.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts::wire;
  const auto src = Ipv4Addr::from_octets(10, 77, 0, 1), dst = Ipv4Addr::from_octets(10, 77, 0, 2);
  for (CsumCheck mode : {CsumCheck::verify, CsumCheck::trust}) {
    UdpRepr u;
    if (UdpRepr::parse(UdpView({data, size}), src, dst, u, mode) != Error::ok) continue;
    TS_FUZZ_ASSERT(u.payload.data() + u.payload.size() <= data + size);
    std::vector<uint8_t> d(kUdpHeaderLen);
    d.insert(d.end(), u.payload.begin(), u.payload.end());
    TS_FUZZ_ASSERT(d.size() == u.len());
    u.emit_header(d, src, dst);
    UdpRepr back;
    TS_FUZZ_ASSERT(UdpRepr::parse(UdpView(d), src, dst, back) == Error::ok);
    TS_FUZZ_ASSERT(back.src_port == u.src_port && back.payload.size() == u.payload.size());
  }
  return 0;
}
