// TCP header and options: parse is bounded whatever the options say; options
// that parse survive an emit/parse round trip (SACK blocks up to what fits).
#include <algorithm>
#include <vector>

#include "fuzz_common.hh"
#include "wire/tcp.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts::wire;
  const auto src = Ipv4Addr::from_octets(10, 77, 0, 1), dst = Ipv4Addr::from_octets(10, 77, 0, 2);
  TcpRepr t;
  // Trust the checksum so random input reaches the option parser.
  if (TcpRepr::parse(TcpView({data, size}), src, dst, t, CsumCheck::trust) != Error::ok) return 0;
  TS_FUZZ_ASSERT(t.payload.data() + t.payload.size() == data + size);
  const TcpOptions& o = t.options;
  TS_FUZZ_ASSERT(o.len() <= kTcpMaxOptionsLen && o.len() % 4 == 0);
  std::vector<uint8_t> seg(t.header_len() + t.payload.size());
  std::copy(t.payload.begin(), t.payload.end(), seg.begin() + long(t.header_len()));
  t.emit_header(seg, src, dst);
  TcpRepr back;
  TS_FUZZ_ASSERT(TcpRepr::parse(TcpView(seg), src, dst, back) == Error::ok);
  const TcpOptions& b = back.options;
  TS_FUZZ_ASSERT(back.seq == t.seq && back.ack == t.ack && back.flags == t.flags);
  TS_FUZZ_ASSERT(b.has_mss == o.has_mss && (!o.has_mss || b.mss == o.mss));
  TS_FUZZ_ASSERT(b.has_wscale == o.has_wscale && (!o.has_wscale || b.wscale == o.wscale));
  TS_FUZZ_ASSERT(b.sack_permitted == o.sack_permitted);
  TS_FUZZ_ASSERT(b.has_timestamps == o.has_timestamps &&
                 (!o.has_timestamps || (b.tsval == o.tsval && b.tsecr == o.tsecr)));
  TS_FUZZ_ASSERT(b.sack_count <= o.sack_count);
  for (unsigned i = 0; i < b.sack_count; ++i) TS_FUZZ_ASSERT(b.sack[i] == o.sack[i]);
  TS_FUZZ_ASSERT(back.payload.size() == t.payload.size());
  return 0;
}
