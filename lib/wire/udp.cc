#include "wire/udp.hh"

#include "wire/bytes.hh"
#include "wire/ipv4.hh"

namespace ts::wire {

Error UdpView::check() const {
  if (b_.size() < kUdpHeaderLen) return Error::udp_truncated;
  if (length() < kUdpHeaderLen || length() > b_.size()) return Error::udp_bad_length;
  return Error::ok;
}


bool UdpView::checksum_ok(Ipv4Addr src, Ipv4Addr dst) const {
  if (checksum() == 0) return true;
  uint16_t ph = pseudo_header_sum(src, dst, ipproto::udp, length());
  return ones_sum(b_.data(), length(), ph) == 0xffff;
}

Error UdpRepr::parse(UdpView v, Ipv4Addr src, Ipv4Addr dst, UdpRepr& out, CsumCheck csum) {
  if (Error e = v.check(); e != Error::ok) return e;
  if (csum == CsumCheck::verify && !v.checksum_ok(src, dst)) return Error::udp_bad_checksum;
  out.src_port = v.src_port();
  out.dst_port = v.dst_port();
  out.payload = v.payload();
  return Error::ok;
}

void UdpRepr::emit_header(std::span<uint8_t> dgram, Ipv4Addr src, Ipv4Addr dst,
                          CsumFill csum) const {
  uint16_t length = uint16_t(len());
  store_be16(&dgram[0], src_port);
  store_be16(&dgram[2], dst_port);
  store_be16(&dgram[4], length);
  uint16_t ph = pseudo_header_sum(src, dst, ipproto::udp, length);
  if (csum == CsumFill::offload) {
    store_be16(&dgram[6], ph);
    return;
  }
  store_be16(&dgram[6], 0);
  uint16_t c = checksum(dgram.data(), length, ph);
  // A computed zero is sent as all ones: zero means "no checksum" (RFC 768).
  store_be16(&dgram[6], c == 0 ? 0xffff : c);
}

}  // namespace ts::wire
