// ICMP: parse is bounded; turning an echo request into a reply in place keeps
// the checksum valid (RFC 1624 incremental update).
#include <vector>

#include "fuzz_common.hh"
#include "wire/checksum.hh"
#include "wire/icmp.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts::wire;
  IcmpRepr r;
  if (IcmpRepr::parse(IcmpView({data, size}), r) != Error::ok) return 0;
  TS_FUZZ_ASSERT(r.payload.size() + kIcmpHeaderLen == size);
  if (r.type == icmptype::echo_request) {
    std::vector<uint8_t> msg(data, data + size);
    icmp_echo_request_to_reply(msg);
    TS_FUZZ_ASSERT(ones_sum(msg.data(), msg.size()) == 0xffff);
    IcmpRepr reply;
    TS_FUZZ_ASSERT(IcmpRepr::parse(IcmpView(msg), reply) == Error::ok);
    TS_FUZZ_ASSERT(reply.type == icmptype::echo_reply && reply.seq == r.seq);
  }
  return 0;
}
