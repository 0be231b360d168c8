// The ARP cache: IPv4 next hop -> MAC, with expiry, and a bounded queue of
// packets waiting while an address is being resolved (RFC 826, RFC 1122 2.3.2).
//
// An open-addressing hash table with linear probing and backward-shift deletion:
// fixed size, no allocation after construction, lookups never scan.
#pragma once

#include <cstdint>
#include <vector>

#include "stack/device.hh"
#include "wire/addr.hh"

namespace ts::stack {

struct ArpConfig {
  uint32_t capacity = 1024;                   // slots, rounded up to a power of two
  uint64_t reachable_ns = 60'000'000'000ull;  // how long a learned mapping is used
  uint64_t retry_ns = 1'000'000'000ull;       // between requests while resolving
  uint8_t max_requests = 3;                   // then the waiting packets are dropped
  uint16_t queue_per_entry = 16;              // packets held per unresolved address
  uint32_t queue_total = 1024;                // packets held in all
};

class ArpCache {
 public:
  enum class State : uint8_t { free, incomplete, reachable };

  struct Entry {
    wire::Ipv4Addr ip;
    wire::MacAddr mac;
    State state = State::free;
    uint8_t requests = 0;    // requests sent in this resolution
    uint16_t queued = 0;
    uint64_t expires = 0;    // reachable: when the mapping goes stale
    uint64_t retry_at = 0;   // incomplete: when to ask again
    int32_t head = -1, tail = -1;
  };

  struct Hold {
    bool kept = false;        // p is now owned by the cache
    bool ask = false;         // a resolution started: send an ARP request now
    bool table_full = false;  // no entry could be made (and p was not kept)
  };

  explicit ArpCache(const ArpConfig& cfg);

  // The entry of ip when it is resolved and fresh (its MAC and expiry); nullptr otherwise.
  const Entry* resolved(wire::Ipv4Addr ip, uint64_t now) const;
  // Changes whenever a mapping changes its MAC, leaves the table or starts
  // resolving again: a copy of a MAC taken at one version stays right, until
  // its entry's expiry, while the version is the same (the stack's header
  // templates, docs/performance.md).
  uint32_t version() const { return version_; }
  Entry* find(wire::Ipv4Addr ip);

  // Records ip -> mac as reachable. An existing entry is updated; a missing one
  // is created only if `create` (RFC 826: when the packet was addressed to us).
  // Returns the entry, or nullptr when none exists or the table is full.
  Entry* learn(wire::Ipv4Addr ip, const wire::MacAddr& mac, uint64_t now, bool create);

  // Keeps p until ip resolves, unless the per-address or total queue is full.
  // When the table is full, the resolved entry closest to expiry makes room:
  // traffic we originate wins over mappings learned from others.
  Hold hold(wire::Ipv4Addr ip, const Packet& p, uint64_t now);

  // Takes the next waiting packet of e; false when none is left.
  bool pop(Entry& e, Packet& out);

  // Timer work for unresolved entries: `ask(ip)` for every due retry, and
  // `give_up(packet)` for each packet of an entry out of retries (then removed).
  template <class Ask, class GiveUp>
  void tick(uint64_t now, Ask&& ask, GiveUp&& give_up);

  // Hands every waiting packet to `f` (at teardown).
  template <class F>
  void drain(F&& f) {
    Packet p;
    for (Entry& e : slots_)
      while (e.state != State::free && pop(e, p)) f(p);
  }

  // When tick() next has work; UINT64_MAX when nothing is resolving.
  uint64_t next_deadline() const { return incomplete_ ? next_retry_ : UINT64_MAX; }
  size_t size() const { return used_; }
  size_t capacity() const { return slots_.size(); }
  const ArpConfig& config() const { return cfg_; }
  // Visits every entry in use (for listings).
  template <class F>
  void for_each(F&& f) const {
    for (const Entry& e : slots_)
      if (e.state != State::free) f(e);
  }

 private:
  struct Node {
    Packet pkt;
    int32_t next = -1;
  };

  size_t home(wire::Ipv4Addr ip) const {
    return size_t((uint64_t(ip.v) * 0x9e3779b97f4a7c15ull) >> shift_);
  }
  Entry* insert(wire::Ipv4Addr ip, uint64_t now, bool evict);
  void erase(size_t slot);
  void sweep_stale(uint64_t now);
  void start_resolving(Entry& e, uint64_t now);

  ArpConfig cfg_;
  std::vector<Entry> slots_;
  size_t mask_ = 0;
  unsigned shift_ = 0;
  size_t used_ = 0;
  std::vector<Node> nodes_;
  int32_t free_node_ = -1;
  uint32_t incomplete_ = 0;
  uint64_t next_retry_ = UINT64_MAX;
  uint32_t version_ = 0;
};

template <class Ask, class GiveUp>
void ArpCache::tick(uint64_t now, Ask&& ask, GiveUp&& give_up) {
  if (!incomplete_ || now < next_retry_) return;
  next_retry_ = UINT64_MAX;
  for (size_t i = 0; i < slots_.size();) {
    Entry& e = slots_[i];
    if (e.state != State::incomplete) {
      ++i;
      continue;
    }
    if (e.retry_at <= now) {
      if (e.requests >= cfg_.max_requests) {
        Packet p;
        while (pop(e, p)) give_up(p);
        --incomplete_;
        erase(i);  // backward shift may move another entry into slot i: look again
        continue;
      }
      ++e.requests;
      e.retry_at = now + cfg_.retry_ns;
      ask(e.ip);
    }
    if (e.retry_at < next_retry_) next_retry_ = e.retry_at;
    ++i;
  }
}

}  // namespace ts::stack
