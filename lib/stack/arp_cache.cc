#include "stack/arp_cache.hh"

#include <bit>

namespace ts::stack {

ArpCache::ArpCache(const ArpConfig& cfg) : cfg_(cfg) {
  size_t cap = std::bit_ceil(size_t(cfg.capacity < 8 ? 8 : cfg.capacity));
  slots_.resize(cap);
  mask_ = cap - 1;
  shift_ = 64 - unsigned(std::countr_zero(cap));
  nodes_.resize(cfg.queue_total);
  for (size_t i = 0; i < nodes_.size(); ++i)
    nodes_[i].next = i + 1 < nodes_.size() ? int32_t(i + 1) : -1;
  free_node_ = nodes_.empty() ? -1 : 0;
}

ArpCache::Entry* ArpCache::find(wire::Ipv4Addr ip) {
  for (size_t i = home(ip);; i = (i + 1) & mask_) {
    Entry& e = slots_[i];
    if (e.state == State::free) return nullptr;
    if (e.ip == ip) return &e;
  }
}

const ArpCache::Entry* ArpCache::resolved(wire::Ipv4Addr ip, uint64_t now) const {
  const Entry* e = const_cast<ArpCache*>(this)->find(ip);
  if (!e || e->state != State::reachable || now >= e->expires) return nullptr;
  return e;
}

ArpCache::Entry* ArpCache::insert(wire::Ipv4Addr ip, uint64_t now, bool evict) {
  // Keep the load at or below 3/4 so probe sequences stay short.
  auto full = [&] { return (used_ + 1) * 4 > slots_.size() * 3; };
  if (full()) sweep_stale(now);
  if (full() && evict) {
    // A scan, but only when the table is full of live entries.
    size_t victim = slots_.size();
    for (size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].state == State::reachable &&
          (victim == slots_.size() || slots_[i].expires < slots_[victim].expires))
        victim = i;
    if (victim != slots_.size()) erase(victim);
  }
  if (full()) return nullptr;
  size_t i = home(ip);
  while (slots_[i].state != State::free) i = (i + 1) & mask_;
  slots_[i] = Entry{};
  slots_[i].ip = ip;
  ++used_;
  return &slots_[i];  // still State::free: the caller sets the state before anything else runs
}

void ArpCache::erase(size_t i) {
  // Backward-shift deletion: pull later members of the probe run into the hole
  // unless they would then sit before their home slot.
  for (size_t j = (i + 1) & mask_; slots_[j].state != State::free; j = (j + 1) & mask_) {
    const size_t k = home(slots_[j].ip);
    const bool movable = (j > i) ? (k <= i || k > j) : (k <= i && k > j);
    if (movable) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = Entry{};
  --used_;
  ++version_;
}

void ArpCache::sweep_stale(uint64_t now) {
  for (size_t i = 0; i < slots_.size();) {
    if (slots_[i].state == State::reachable && now >= slots_[i].expires) {
      erase(i);
      continue;
    }
    ++i;
  }
}

ArpCache::Entry* ArpCache::learn(wire::Ipv4Addr ip, const wire::MacAddr& mac, uint64_t now,
                                 bool create) {
  Entry* e = find(ip);
  if (!e) {
    if (!create) return nullptr;
    e = insert(ip, now, false);
    if (!e) return nullptr;
  }
  if (e->state == State::incomplete) --incomplete_;
  if (e->state != State::reachable || e->mac != mac) ++version_;
  e->state = State::reachable;
  e->mac = mac;
  e->requests = 0;
  e->expires = now + cfg_.reachable_ns;
  return e;
}

void ArpCache::start_resolving(Entry& e, uint64_t now) {
  ++version_;
  e.state = State::incomplete;
  e.requests = 1;
  e.retry_at = now + cfg_.retry_ns;
  ++incomplete_;
  if (e.retry_at < next_retry_) next_retry_ = e.retry_at;
}

ArpCache::Hold ArpCache::hold(wire::Ipv4Addr ip, const Packet& p, uint64_t now) {
  Hold r;
  Entry* e = find(ip);
  if (!e) {
    e = insert(ip, now, true);
    if (!e) {
      r.table_full = true;
      return r;
    }
  }
  if (e->state != State::incomplete) {  // new, or a stale mapping to refresh
    start_resolving(*e, now);
    r.ask = true;
  }
  if (e->queued >= cfg_.queue_per_entry || free_node_ < 0) return r;
  const int32_t n = free_node_;
  free_node_ = nodes_[n].next;
  nodes_[n] = Node{p, -1};
  if (e->tail >= 0)
    nodes_[e->tail].next = n;
  else
    e->head = n;
  e->tail = n;
  ++e->queued;
  r.kept = true;
  return r;
}

bool ArpCache::pop(Entry& e, Packet& out) {
  if (e.head < 0) return false;
  const int32_t n = e.head;
  out = nodes_[n].pkt;
  e.head = nodes_[n].next;
  if (e.head < 0) e.tail = -1;
  --e.queued;
  nodes_[n].next = free_node_;
  free_node_ = n;
  return true;
}

}  // namespace ts::stack
