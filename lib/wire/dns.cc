#include "wire/dns.hh"

#include "wire/bytes.hh"

namespace ts::wire {

bool parse_dns_header(std::span<const uint8_t> msg, DnsHeader& out) {
  if (msg.size() < kDnsHeaderLen) return false;
  const uint8_t* p = msg.data();
  out.id = load_be16(p);
  out.flags = load_be16(p + 2);
  out.qdcount = load_be16(p + 4);
  out.ancount = load_be16(p + 6);
  out.nscount = load_be16(p + 8);
  out.arcount = load_be16(p + 10);
  return true;
}

size_t dns_question_end(std::span<const uint8_t> msg) {
  DnsHeader h;
  if (!parse_dns_header(msg, h) || h.qdcount == 0) return 0;
  size_t at = kDnsHeaderLen;
  for (size_t labels = 0;; ++labels) {
    if (at >= msg.size() || labels > 127) return 0;
    const uint8_t len = msg[at];
    if (len == 0) {
      ++at;
      break;
    }
    if ((len & 0xc0) == 0xc0) {  // a pointer ends the name
      at += 2;
      break;
    }
    if (len & 0xc0) return 0;  // reserved label types
    at += 1 + len;
  }
  at += 4;  // type and class
  return at <= msg.size() ? at : 0;
}

std::string dns_name_error(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return "an empty name";
  if (name.size() > 253) return "longer than 253 bytes";
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const size_t len = dot - start;
    if (len == 0) return "an empty label";
    if (len > 63) return "a label longer than 63 bytes";
    start = dot + 1;
  }
  return {};
}

void build_dns_query(uint16_t id, std::string_view name, uint16_t qtype, std::vector<uint8_t>& out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  const size_t at = out.size();
  out.resize(at + kDnsHeaderLen);
  uint8_t* h = out.data() + at;
  store_be16(h, id);
  store_be16(h + 2, 0x0100);  // a standard query, recursion desired
  store_be16(h + 4, 1);
  store_be16(h + 6, 0);
  store_be16(h + 8, 0);
  store_be16(h + 10, 0);
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    out.push_back(uint8_t(dot - start));
    out.insert(out.end(), name.begin() + long(start), name.begin() + long(dot));
    start = dot + 1;
  }
  out.push_back(0);
  out.push_back(uint8_t(qtype >> 8));
  out.push_back(uint8_t(qtype));
  out.push_back(uint8_t(kDnsClassIn >> 8));
  out.push_back(uint8_t(kDnsClassIn));
}

const char* dns_rcode_name(uint8_t rcode) {
  static const char* const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                      "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                      "NXRRSET", "NOTAUTH", "NOTZONE"};
  return rcode < sizeof names / sizeof names[0] ? names[rcode] : "RCODE?";
}

}  // namespace ts::wire
