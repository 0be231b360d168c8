#include "wire/icmp.hh"

#include "wire/bytes.hh"

namespace ts::wire {

Error IcmpView::check() const {
  if (b_.size() < kIcmpHeaderLen) return Error::icmp_truncated;
  return Error::ok;
}


Error IcmpRepr::parse(IcmpView v, IcmpRepr& out, CsumCheck csum) {
  if (Error e = v.check(); e != Error::ok) return e;
  if (csum == CsumCheck::verify && !v.checksum_ok()) return Error::icmp_bad_checksum;
  out.type = v.type();
  out.code = v.code();
  bool echo = v.type() == icmptype::echo_request || v.type() == icmptype::echo_reply;
  out.ident = echo ? v.echo_ident() : 0;
  out.seq = echo ? v.echo_seq() : 0;
  out.payload = v.payload();
  return Error::ok;
}

void IcmpRepr::emit_header(std::span<uint8_t> msg) const {
  msg[0] = type;
  msg[1] = code;
  store_be16(&msg[2], 0);
  store_be16(&msg[4], ident);
  store_be16(&msg[6], seq);
  store_be16(&msg[2], wire::checksum(msg.data(), msg.size()));
}

void icmp_echo_request_to_reply(std::span<uint8_t> msg) {
  uint16_t old_word = load_be16(&msg[0]);
  msg[0] = icmptype::echo_reply;
  uint16_t new_word = load_be16(&msg[0]);
  const uint16_t updated = checksum_update16(load_be16(&msg[2]), old_word, new_word);
  if (updated != 0) {
    store_be16(&msg[2], updated);
    return;
  }
  // One's complement has two zeros. The update yields 0x0000 both when the new
  // data sums to 0xffff (then 0x0000 is right) and when every other word is zero
  // (then the sum is +0 and the checksum must be 0xffff); only a full sum tells.
  store_be16(&msg[2], 0);
  store_be16(&msg[2], checksum(msg.data(), msg.size()));
}

}  // namespace ts::wire
