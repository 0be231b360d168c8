// The host-pair cache as a TCP layer's PathCache: what one core's TcpLayer
// calls when a connection opens and ends. One HostCache is shared by every
// core; each core has its own adapter.
//
// Temporal sharing does not touch the shared map per connection: the adapter
// keeps a small direct-mapped table of the hints it read (re-read at most
// every kRefreshNs per host) and of the closes it has not yet published,
// blended locally by the same rule (RFC 9040: a quarter of the way) and
// written as one report per host at most every kRefreshNs, from tick() or the
// next open or close of that host. A burst of short connections to one server
// thus costs each core one shared read and one shared write per host per
// interval instead of one each per connection. Ensemble sharing counts live
// connections, so it goes to the shared map at every open and close.
#pragma once

#include <algorithm>
#include <array>

#include "hostcache/hostcache.hh"
#include "stack/path_cache.hh"

namespace ts::hostcache {

class SharedPathCache final : public stack::PathCache {
 public:
  static constexpr uint64_t kRefreshNs = 10'000'000;
  static constexpr size_t kNearSlots = 64;

  SharedPathCache(HostCache& cache, Policy policy) : cache_(cache), policy_(policy) {}
  // Publishes what is still pending.
  ~SharedPathCache() override {
    for (auto& n : near_) flush(n, n.pending_since);
  }
  SharedPathCache(const SharedPathCache&) = delete;
  SharedPathCache& operator=(const SharedPathCache&) = delete;

  tcp::PathHint open(wire::Ipv4Addr local, wire::Ipv4Addr remote, uint64_t now, uint32_t smss,
                     uint32_t default_iw) override {
    const Key k{local, remote};
    const uint16_t mss = uint16_t(std::min<uint32_t>(smss, 65535));
    if (policy_ == Policy::ensemble) return cache_.open(k, now, policy_, mss, default_iw);
    // Temporal, and off (for the Fast Open fields alone): a read at most every
    // kRefreshNs per host and core.
    Near& n = slot(k, now);
    if (!n.read || n.mss != mss || now - n.read_ns >= kRefreshNs) {
      flush(n, now);  // what this core learned first, then read
      n.hint = cache_.peek(k, now, policy_, mss);
      n.read = true;
      n.read_ns = now;
      n.mss = mss;
    }
    return n.hint;
  }

  void close(wire::Ipv4Addr local, wire::Ipv4Addr remote, const tcp::PathReport& r,
             bool overridden, uint64_t now) override {
    const Key k{local, remote};
    if (policy_ == Policy::ensemble) {  // it leaves the ensemble (and writes unless overridden)
      cache_.close(k, r, now, policy_, {overridden, 1});
      return;
    }
    if (policy_ == Policy::off) return;
    // Abuse is written whatever the application set (and at once: it is rare).
    if (overridden) {
      if (r.held_back_ns || r.reclaims) cache_.close(k, r, now, policy_, {true, 1});
      return;
    }
    Near& n = slot(k, now);
    if (!n.pending) {
      n.acc = r;
      n.pending_since = now;
    } else {
      blend(n.acc, r);
    }
    ++n.pending;
    if (now - n.pending_since >= kRefreshNs) flush(n, now);
  }

  void fastopen(wire::Ipv4Addr local, wire::Ipv4Addr remote, const tcp::FastOpenNews& news,
                uint64_t now) override {
    const Key k{local, remote};
    cache_.note_fastopen(k, news, now);
    slot(k, now).read = false;  // this core's next connection reads it
  }

  void note_cookie_failures(wire::Ipv4Addr local, wire::Ipv4Addr remote, uint32_t n) override {
    if (policy_ != Policy::off) cache_.note_cookie_failures({local, remote}, n);
  }

  bool wants_windows() const override { return policy_ == Policy::ensemble; }
  uint32_t publish(wire::Ipv4Addr local, wire::Ipv4Addr remote, int64_t delta, uint32_t cwnd,
                   uint32_t& joins_seen) override {
    return cache_.publish_window({local, remote}, delta, cwnd, &joins_seen);
  }

  uint64_t tick(uint64_t now) override {
    for (auto& n : near_)
      if (n.pending && now - n.pending_since >= kRefreshNs) flush(n, now);
    return now + kRefreshNs;
  }

 private:
  struct Near {
    uint64_t key = 0;
    bool used = false;
    bool read = false;     // hint holds what the shared map gave at read_ns
    uint64_t read_ns = 0;
    uint16_t mss = 0;
    tcp::PathHint hint;
    uint32_t pending = 0;  // closes blended into acc, not yet published
    uint64_t pending_since = 0;
    tcp::PathReport acc;
  };

  // The slot of `k`, taken over (after publishing its previous host) if
  // another host had it.
  Near& slot(const Key& k, uint64_t now) {
    const uint64_t packed = k.packed();
    uint64_t h = packed * 0x9e3779b97f4a7c15ull;
    Near& n = near_[(h >> 32) % kNearSlots];
    if (!n.used || n.key != packed) {
      flush(n, now);
      n = Near{};
      n.key = packed;
      n.used = true;
    }
    return n;
  }

  void flush(Near& n, uint64_t now) {
    if (!n.pending) return;
    const Key k{wire::Ipv4Addr{uint32_t(n.key >> 32)}, wire::Ipv4Addr{uint32_t(n.key)}};
    cache_.close(k, n.acc, now, policy_, {false, n.pending});
    n.pending = 0;
    n.read = false;  // the next open reads what the shared map now holds
  }

  // A further close of the batch: RFC 9040's rule applied locally.
  static void blend(tcp::PathReport& acc, const tcp::PathReport& r) {
    temporal_update(acc, r);
    acc.cwnd = r.cwnd;
    acc.held_back_ns += r.held_back_ns;
    acc.reclaims += r.reclaims;
  }

  HostCache& cache_;
  Policy policy_;
  std::array<Near, kNearSlots> near_{};
};

}  // namespace ts::hostcache
