// Link-layer and IPv4 addresses, with text forms for the command line and logs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ts::wire {

struct MacAddr {
  std::array<uint8_t, 6> b{};

  static constexpr MacAddr broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  bool is_broadcast() const { return *this == broadcast(); }
  bool is_multicast() const { return (b[0] & 1) != 0; }
  bool is_zero() const { return *this == MacAddr{}; }
  bool operator==(const MacAddr&) const = default;

  // "aa:bb:cc:dd:ee:ff"; nullopt on anything else.
  static std::optional<MacAddr> parse(std::string_view s);
  std::string str() const;
};

// Stored in host order: 10.0.0.1 is 0x0a000001.
struct Ipv4Addr {
  uint32_t v = 0;

  constexpr Ipv4Addr() = default;
  constexpr explicit Ipv4Addr(uint32_t host_order) : v(host_order) {}
  static constexpr Ipv4Addr from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Addr(uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | d);
  }
  bool is_unspecified() const { return v == 0; }
  bool is_broadcast() const { return v == 0xffffffffu; }
  bool is_multicast() const { return (v >> 28) == 0xe; }
  // An address one host can have (RFC 1122 3.2.1.3): not in 0/8 ("this
  // network"), 127/8 (loopback) or 224/3 (multicast, class E and the limited
  // broadcast).
  bool is_unicast() const {
    const uint32_t first = v >> 24;
    return first != 0 && first != 127 && first < 224;
  }
  bool operator==(const Ipv4Addr&) const = default;
  auto operator<=>(const Ipv4Addr&) const = default;

  // Dotted quad with exactly four decimal octets; nullopt on anything else.
  static std::optional<Ipv4Addr> parse(std::string_view s);
  std::string str() const;
};

// An interface address: 10.0.0.2/24.
struct Ipv4Cidr {
  Ipv4Addr addr;
  uint8_t prefix = 32;

  uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix); }
  bool contains(Ipv4Addr a) const { return ((a.v ^ addr.v) & mask()) == 0; }
  // /31 and /32 have no directed broadcast (RFC 3021): the limited one stands in.
  Ipv4Addr subnet_broadcast() const {
    return prefix >= 31 ? Ipv4Addr(0xffffffffu) : Ipv4Addr(addr.v | ~mask());
  }
  // The prefix's own address or its directed broadcast, which no host on it
  // has (on /31 and /32 every address is a host's).
  bool is_network_or_broadcast(Ipv4Addr a) const {
    return prefix < 31 && contains(a) && ((a.v & ~mask()) == 0 || a == subnet_broadcast());
  }
  // Whether `a` can name one remote host seen from this interface: unicast,
  // and not the directed broadcast of our prefix.
  bool names_host(Ipv4Addr a) const { return a.is_unicast() && a != subnet_broadcast(); }

  static std::optional<Ipv4Cidr> parse(std::string_view s);
  std::string str() const;
};

}  // namespace ts::wire
