// The interface between one core's TCP layer and a host-pair cache (RFC
// 9040): what the layer tells it as connections open and end, and asks of
// it. lib/hostcache implements it for every core; lib/stack knows only this,
// so the stack (and the fuzzers built from it) need no TBB.
#pragma once

#include <cstdint>

#include "tcp/path.hh"
#include "wire/addr.hh"

namespace ts::stack {

// Where connections learn what earlier and concurrent ones found out about a
// path (RFC 9040); lib/hostcache implements it, shared by every core. Called
// when a connection opens and when it ends, never per packet.
class PathCache {
 public:
  virtual ~PathCache() = default;
  virtual tcp::PathHint open(wire::Ipv4Addr local, wire::Ipv4Addr remote, uint64_t now,
                             uint32_t smss, uint32_t default_iw) = 0;
  // `overridden`: the application chose the connection's parameters; the
  // cache only takes it out of the ensemble.
  virtual void close(wire::Ipv4Addr local, wire::Ipv4Addr remote, const tcp::PathReport& r,
                     bool overridden, uint64_t now) = 0;
  // Publishes what is due; returns when it next wants to be called
  // (UINT64_MAX: never). The TCP layer calls it from its poll when that time
  // has come.
  virtual uint64_t tick(uint64_t now) {
    (void)now;
    return UINT64_MAX;
  }
  // ACKs to a listener from this host carried forged SYN cookies (kept for
  // `stats`; spoofable, so they never raise the host's abuse score).
  virtual void note_cookie_failures(wire::Ipv4Addr local, wire::Ipv4Addr remote, uint32_t n) {
    (void)local, (void)remote, (void)n;
  }
  // What a client connection learned about a server's Fast Open (a cookie,
  // that it does not answer with one, that a SYN with data was lost); kept
  // whatever the sharing policy (docs/fastopen.md).
  virtual void fastopen(wire::Ipv4Addr local, wire::Ipv4Addr remote, const tcp::FastOpenNews& n,
                        uint64_t now) {
    (void)local, (void)remote, (void)n, (void)now;
  }
  // Whether open connections should publish their windows (ensemble sharing).
  virtual bool wants_windows() const { return false; }
  // An open connection's window moved by `delta` bytes since it last
  // published; at most once per kPublishNs (or a quarter RTT) per connection.
  // Returns a window to come down to for newcomers (0: keep its own);
  // `joins_seen` is the connection's memory of the ensemble's joins.
  virtual uint32_t publish(wire::Ipv4Addr local, wire::Ipv4Addr remote, int64_t delta,
                           uint32_t cwnd, uint32_t& joins_seen) {
    (void)local, (void)remote, (void)delta, (void)cwnd, (void)joins_seen;
    return 0;
  }
};

}  // namespace ts::stack
