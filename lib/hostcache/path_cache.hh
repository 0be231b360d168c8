// The host-pair cache as a TCP layer's PathCache: what every core's TcpLayer
// calls when a connection opens and ends. One HostCache is shared by all
// cores; each core has its own adapter (they hold no state of their own).
#pragma once

#include "hostcache/hostcache.hh"
#include "stack/tcp_layer.hh"

namespace ts::hostcache {

class SharedPathCache final : public stack::PathCache {
 public:
  SharedPathCache(HostCache& cache, Policy policy) : cache_(cache), policy_(policy) {}

  tcp::PathHint open(wire::Ipv4Addr local, wire::Ipv4Addr remote, uint64_t now, uint32_t smss,
                     uint32_t default_iw) override {
    const Hint h = cache_.open({local, remote}, now, policy_, uint16_t(std::min<uint32_t>(smss, 65535)),
                               default_iw);
    tcp::PathHint p;
    p.have_rtt = h.have_rtt;
    p.srtt_ns = h.srtt_ns;
    p.rttvar_ns = h.rttvar_ns;
    p.ssthresh = h.ssthresh;
    p.initial_cwnd = h.initial_cwnd;
    return p;
  }
  void close(wire::Ipv4Addr local, wire::Ipv4Addr remote, const tcp::PathReport& r,
             bool overridden, uint64_t now) override {
    Report rep;
    rep.mss = r.mss;
    rep.srtt_ns = r.srtt_ns;
    rep.rttvar_ns = r.rttvar_ns;
    rep.min_rtt_ns = r.min_rtt_ns;
    rep.ssthresh = r.ssthresh;
    rep.cwnd = r.cwnd;
    rep.overridden = overridden;
    cache_.close({local, remote}, rep, now, policy_);
  }
  Policy policy() const { return policy_; }

 private:
  HostCache& cache_;
  Policy policy_;
};

}  // namespace ts::hostcache
