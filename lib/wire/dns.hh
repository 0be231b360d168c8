// Just enough DNS (RFC 1035) for a relay and a load generator: the header,
// the question's extent, and A queries built from a name. Parsers take any
// bytes and never read past them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ts::wire {

inline constexpr size_t kDnsHeaderLen = 12;
inline constexpr uint16_t kDnsTypeA = 1, kDnsClassIn = 1;

struct DnsHeader {
  uint16_t id = 0, flags = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  bool response() const { return flags & 0x8000; }
  bool truncated() const { return flags & 0x0200; }
  uint8_t rcode() const { return uint8_t(flags & 0xf); }
};

// False when `msg` is shorter than a header.
bool parse_dns_header(std::span<const uint8_t> msg, DnsHeader& out);
// Where the first question ends (past its name, type and class), or 0 when
// the message has no well-formed first question.
size_t dns_question_end(std::span<const uint8_t> msg);
// Whether `name` can be a query name: dot-separated labels of 1 to 63 bytes,
// 253 bytes at most (a trailing dot is allowed). An error message, or empty.
std::string dns_name_error(std::string_view name);
// An A query for `name` (recursion desired), appended to `out`; the name must
// have passed dns_name_error.
void build_dns_query(uint16_t id, std::string_view name, uint16_t qtype, std::vector<uint8_t>& out);
const char* dns_rcode_name(uint8_t rcode);

}  // namespace ts::wire
