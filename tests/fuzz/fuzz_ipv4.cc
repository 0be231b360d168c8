// IPv4: both checksum modes; an accepted header's payload lies inside the
// buffer, and its fields re-emitted give a header that parses to the same.
#include <vector>

#include "fuzz_common.hh"
#include "wire/checksum.hh"
#include "wire/ipv4.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts::wire;
  for (CsumCheck mode : {CsumCheck::verify, CsumCheck::trust}) {
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
