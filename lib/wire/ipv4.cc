#include "wire/ipv4.hh"

#include "wire/bytes.hh"

namespace ts::wire {

Error Ipv4View::check() const {
  if (b_.size() < kIpv4HeaderLen) return Error::ipv4_truncated;
  if (version() != 4) return Error::ipv4_bad_version;
  if (header_len() < kIpv4HeaderLen) return Error::ipv4_bad_ihl;
  if (header_len() > b_.size()) return Error::ipv4_truncated;
  if (total_len() > b_.size()) return Error::ipv4_len_beyond_buffer;
  if (total_len() < header_len()) return Error::ipv4_len_below_header;
  return Error::ok;
}


Error Ipv4Repr::parse(Ipv4View v, Ipv4Repr& out, CsumCheck csum) {
  if (Error e = v.check(); e != Error::ok) return e;
  if (csum == CsumCheck::verify && !v.checksum_ok()) return Error::ipv4_bad_checksum;
  if (v.more_frags() || v.frag_offset() != 0) return Error::ipv4_fragment;
  out.src = v.src();
  out.dst = v.dst();
  out.protocol = v.protocol();
  out.ttl = v.ttl();
  out.tos = v.tos();
  out.ident = v.ident();
  out.dont_frag = v.dont_frag();
  out.payload_len = uint16_t(v.total_len() - v.header_len());
  return Error::ok;
}

void Ipv4Repr::emit(std::span<uint8_t> out, CsumFill csum) const {
  out[0] = 0x45;
  out[1] = tos;
  store_be16(&out[2], uint16_t(kIpv4HeaderLen + payload_len));
  store_be16(&out[4], ident);
  store_be16(&out[6], dont_frag ? 0x4000 : 0);
  out[8] = ttl;
  out[9] = protocol;
  store_be16(&out[10], 0);
  store_be32(&out[12], src.v);
  store_be32(&out[16], dst.v);
  if (csum == CsumFill::full) store_be16(&out[10], checksum(out.data(), kIpv4HeaderLen));
}

}  // namespace ts::wire
