#include "sim/sim.hh"

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace ts::sim {

// ------------------------------------------------------------------ Simulator

void Simulator::Heap::push(Key k) {
  size_t i = v_.size();
  v_.push_back(k);
  while (i > 0) {
    const size_t parent = (i - 1) / 4;
    if (!(k < v_[parent])) break;
    v_[i] = v_[parent];
    i = parent;
  }
  v_[i] = k;
}

void Simulator::Heap::pop() {
  const Key last = v_.back();
  v_.pop_back();
  if (v_.empty()) return;
  const size_t n = v_.size();
  size_t i = 0;
  for (;;) {
    const size_t first = 4 * i + 1;
    if (first >= n) break;
    size_t best = first;
    const size_t end = std::min(first + 4, n);
    for (size_t c = first + 1; c < end; ++c)
      if (v_[c] < v_[best]) best = c;
    if (!(v_[best] < last)) break;
    v_[i] = v_[best];
    i = best;
  }
  v_[i] = last;
}

void Simulator::push(uint64_t t, const Event& e) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slab_[slot] = e;
  } else {
    slot = uint32_t(slab_.size());
    slab_.push_back(e);
  }
  if (slot >> kSlotBits) throw std::length_error("simulator: more than 16M events pending");
  q_.push({t, seq_++ << kSlotBits | slot});
}

void Simulator::deliver_at(uint64_t t, Node* to, uint32_t port, const Packet& p) {
  push(t, {Kind::deliver, to, port, p, 0});
}

void Simulator::wake_at(uint64_t t, Node* node) { push(t, {Kind::wake, node, 0, {}, 0}); }

void Simulator::call_at(uint64_t t, std::function<void()> fn) {
  uint32_t idx;
  if (!free_calls_.empty()) {
    idx = free_calls_.back();
    free_calls_.pop_back();
    calls_[idx] = std::move(fn);
  } else {
    idx = uint32_t(calls_.size());
    calls_.push_back(std::move(fn));
  }
  push(t, {Kind::call, nullptr, 0, {}, idx});
}

bool Simulator::step() {
  if (q_.empty()) return false;
  const Key k = q_.top();
  q_.pop();
  const uint32_t slot = uint32_t(k.order & ((1u << kSlotBits) - 1));
  Event e = slab_[slot];
  free_slots_.push_back(slot);
  if (k.t > now_) now_ = k.t;
  ++events_;
  switch (e.kind) {
    case Kind::deliver:
      e.node->receive(e.pkt, e.port, now_);
      break;
    case Kind::wake:
      e.node->wake(now_);
      break;
    case Kind::call: {
      auto fn = std::move(calls_[e.call]);
      free_calls_.push_back(e.call);
      fn();
      break;
    }
  }
  return true;
}

void Simulator::run_until(uint64_t t) {
  while (!q_.empty() && q_.top().t <= t) step();
  if (now_ < t) now_ = t;
}

bool Simulator::run_until_done(const std::function<bool()>& done, uint64_t limit) {
  while (!done()) {
    if (q_.empty() || q_.top().t > limit) {
      if (now_ < limit) now_ = limit;
      return done();
    }
    step();
  }
  return true;
}

// ------------------------------------------------------------------ Link

std::string LinkParams::str() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%.0f Mbit/s, %.3f ms, queue %u", rate_bps / 1e6,
                double(delay_ns) / 1e6, queue_packets);
  std::string s = buf;
  if (aqm != Aqm::droptail) s += std::string(", ") + aqm_name(aqm);
  if (loss.bernoulli > 0) s += ", loss " + std::to_string(loss.bernoulli);
  if (loss.gilbert)
    s += ", bursty loss (p=" + std::to_string(loss.p_good_bad) + " r=" +
         std::to_string(loss.p_bad_good) + ")";
  if (reorder > 0) s += ", reorder " + std::to_string(reorder);
  if (duplicate > 0) s += ", duplicate " + std::to_string(duplicate);
  if (corrupt > 0) s += ", corrupt " + std::to_string(corrupt);
  return s;
}

const char* link_event_name(LinkEvent e) {
  switch (e) {
    case LinkEvent::sent: return "sent";
    case LinkEvent::lost: return "lost";
    case LinkEvent::queue_drop: return "queue-drop";
    case LinkEvent::corrupted: return "corrupted";
    case LinkEvent::duplicated: return "duplicated";
    case LinkEvent::reordered: return "reordered";
  }
  return "?";
}

Link::Link(Simulator& sim, stack::MemDevice& pool, const LinkParams& p, Node* to,
           uint32_t to_port, uint64_t seed, std::string name)
    : sim_(sim), pool_(pool), p_(p), to_(to), to_port_(to_port), rng_(seed),
      name_(std::move(name)) {}

bool Link::lose() {
  const LossModel& m = p_.loss;
  if (m.gilbert) {
    if (bad_state_) {
      if (rng_.chance(m.p_bad_good)) bad_state_ = false;
    } else if (rng_.chance(m.p_good_bad)) {
      bad_state_ = true;
    }
    return rng_.chance(bad_state_ ? m.loss_bad : m.loss_good);
  }
  return rng_.chance(m.bernoulli);
}

namespace {

// TCP payload length of an Ethernet/IPv4/TCP frame; 0 for anything else.
uint32_t tcp_payload(const Packet& p) {
  if (p.len < 54 || p.data[12] != 0x08 || p.data[13] != 0x00 || p.data[23] != 6) return 0;
  const uint32_t total = uint32_t(p.data[16]) << 8 | p.data[17];
  const uint32_t ihl = uint32_t(p.data[14] & 0x0f) * 4;
  if (14 + ihl + 13 > p.len) return 0;
  const uint32_t doff = uint32_t(p.data[14 + ihl + 12] >> 4) * 4;
  return total > ihl + doff ? total - ihl - doff : 0;
}

}  // namespace

void Link::drop(Packet& p) {
  stats_.lost_payload += tcp_payload(p);
  pool_.free(p);
}

const char* aqm_name(Aqm a) {
  switch (a) {
    case Aqm::droptail: return "droptail";
    case Aqm::red: return "red";
    case Aqm::codel: return "codel";
  }
  return "?";
}

uint32_t Link::queue_length(uint64_t now) const {
  uint32_t n = 0;
  for (auto it = departures_.rbegin(); it != departures_.rend() && *it > now; ++it) ++n;
  return n;
}

bool Link::red_drop(uint32_t queued, uint64_t now) {
  const RedParams& r = p_.red;
  const double min_th = r.min_th > 0 ? r.min_th : std::max(5.0, p_.queue_packets / 6.0);
  const double max_th = r.max_th > 0 ? r.max_th : 3 * min_th;
  if (queued == 0 && now > busy_until_) {
    // The average decays over the idle time as if small packets had gone
    // through an empty queue (one per 500-byte transmission time).
    const double m = double(now - busy_until_) / double(std::max<uint64_t>(tx_time(500), 1));
    red_.avg *= std::pow(1 - r.weight, m);
  }
  red_.avg += r.weight * (double(queued) - red_.avg);
  if (red_.avg < min_th) {
    red_.count = -1;
    return false;
  }
  double pb;
  if (red_.avg < max_th)
    pb = r.max_p * (red_.avg - min_th) / (max_th - min_th);
  else if (red_.avg < 2 * max_th)  // gentle: max_p to 1 between max_th and twice it
    pb = r.max_p + (1 - r.max_p) * (red_.avg - max_th) / max_th;
  else
    pb = 1;
  ++red_.count;
  // Spread drops evenly: the probability rises with the arrivals since the
  // last drop (Floyd and Jacobson's pa = pb / (1 - count pb)).
  const double pa = pb >= 1 ? 1 : pb / std::max(1 - double(red_.count) * pb, 1e-9);
  if (rng_.chance(std::min(pa, 1.0))) {
    red_.count = 0;
    return true;
  }
  return false;
}

bool Link::codel_drop(uint64_t sojourn, uint64_t head) {
  const CodelParams& c = p_.codel;
  auto control_law = [&](uint64_t t, uint32_t count) {
    return t + uint64_t(double(c.interval_ns) / std::sqrt(double(std::max(count, 1u))));
  };
  // RFC 8289 4.3-4.5: is this sojourn judged too long (for an interval)?
  bool ok_to_drop = false;
  if (sojourn < c.target_ns) {
    codel_.first_above = 0;
  } else if (codel_.first_above == 0) {
    codel_.first_above = head + c.interval_ns;
  } else if (head >= codel_.first_above) {
    ok_to_drop = true;
  }
  if (codel_.dropping) {
    if (!ok_to_drop) {
      codel_.dropping = false;
      return false;
    }
    if (head >= codel_.drop_next) {
      ++codel_.count;
      codel_.drop_next = control_law(codel_.drop_next, codel_.count);
      return true;
    }
    return false;
  }
  if (ok_to_drop) {
    codel_.dropping = true;
    // Start near the drop rate that last controlled the queue, if recently.
    const uint32_t delta = codel_.count - codel_.last_count;
    codel_.count = (delta > 1 && head - codel_.drop_next < 16 * c.interval_ns) ? delta : 1;
    codel_.last_count = codel_.count;
    codel_.drop_next = control_law(head, codel_.count);
    return true;
  }
  return false;
}

void Link::take(Packet& p, uint64_t now) {
  ++stats_.offered;
  if (lose() || (p_.drop_if && p_.drop_if({p.data, p.len}))) {
    ++stats_.lost;
    note(LinkEvent::lost, now, p);
    drop(p);
    return;
  }
  while (!departures_.empty() && departures_.front() <= now) departures_.pop_front();
  if (departures_.size() >= p_.queue_packets) {
    ++stats_.queue_drops;
    note(LinkEvent::queue_drop, now, p);
    drop(p);
    return;
  }
  const uint64_t head = std::max(now, busy_until_);  // when it would reach service
  if ((p_.aqm == Aqm::red && red_drop(uint32_t(departures_.size()), now)) ||
      (p_.aqm == Aqm::codel && codel_drop(head - now, head))) {
    ++stats_.aqm_drops;
    note(LinkEvent::queue_drop, now, p);
    drop(p);
    return;
  }
  stats_.queue_delay_ns += head - now;
  LinkEvent sent = LinkEvent::sent;
  if (rng_.chance(p_.corrupt) && p.len > 14) {
    stats_.lost_payload += tcp_payload(p);  // before the flip can change the lengths
    p.data[14 + rng_.below(p.len - 14)] ^= uint8_t(1u << rng_.below(8));
    // No NIC would pass it: checksums left to the device are now checked in
    // software (and fail).
    p.flags &= ~(stack::pktflag::tx_ip_csum | stack::pktflag::tx_tcp_csum |
                 stack::pktflag::tx_udp_csum);
    ++stats_.corrupted;
    sent = LinkEvent::corrupted;
  }
  const uint64_t tx = tx_time(p.len);
  busy_until_ = std::max(now, busy_until_) + tx;
  departures_.push_back(busy_until_);
  stats_.max_queue = std::max<uint32_t>(stats_.max_queue, uint32_t(departures_.size()));
  ++stats_.sent;
  stats_.bytes += p.len;
  stats_.busy_ns += tx;
  uint64_t arrive = busy_until_ + p_.delay_ns;
  if (rng_.chance(p_.reorder)) {
    arrive += p_.reorder_delay_ns;
    ++stats_.reordered;
    if (sent == LinkEvent::sent) sent = LinkEvent::reordered;
  }
  if (rng_.chance(p_.duplicate)) {
    Packet copy;
    if (pool_.alloc(copy) && copy.room >= p.len) {
      std::memcpy(copy.data, p.data, p.len);
      copy.len = p.len;
      copy.flags = p.flags;
      ++stats_.duplicated;
      note(sent == LinkEvent::sent ? LinkEvent::duplicated : sent, now, p);
      sim_.deliver_at(arrive, to_, to_port_, p);
      sim_.deliver_at(arrive, to_, to_port_, copy);
      return;
    }
  }
  note(sent, now, p);
  sim_.deliver_at(arrive, to_, to_port_, p);
}

// ------------------------------------------------------------------ Host

Host::Host(Simulator& sim, std::string name, const stack::StackConfig& cfg,
           const wire::MacAddr& mac, size_t buffers)
    : sim_(sim), name_(std::move(name)), dev_(mac, buffers, 2048) {
  stack_ = std::make_unique<stack::Stack>(dev_, cfg);
}

void Host::attach(uint32_t, Link* out) { dev_.set_sink(out); }

void Host::receive(Packet& p, uint32_t, uint64_t now) {
  if (offload_) {
    using namespace stack::pktflag;
    uint32_t f = 0;
    if (p.flags & tx_ip_csum) f |= rx_ip_csum_good;
    if (p.flags & (tx_tcp_csum | tx_udp_csum)) f |= rx_l4_csum_good;
    p.flags = f;
  }
  dev_.deliver(p);
  kick(now);
}

void Host::kick(uint64_t t) {
  if (t < wake_at_) {
    wake_at_ = t;
    sim_.wake_at(t, this);
  }
}

void Host::wake(uint64_t now) {
  if (now < wake_at_) return;  // superseded by an earlier wake-up
  wake_at_ = UINT64_MAX;
  stack_->poll(now);
  if (dev_.rx_pending()) kick(now);  // more than one burst arrived
  const uint64_t d = stack_->next_deadline();
  // A deadline already due is honoured a microsecond on, so that nothing can
  // spin at one instant.
  if (d != UINT64_MAX) kick(d > now ? d : now + 1000);
}

// ------------------------------------------------------------------ Switch

void Switch::attach(uint32_t port, Link* out) {
  if (ports_.size() <= port) ports_.resize(port + 1, nullptr);
  ports_[port] = out;
}

namespace {
uint64_t mac_key(const uint8_t* m) {
  uint64_t k = 0;
  std::memcpy(&k, m, 6);
  return k;
}
}  // namespace

void Switch::receive(Packet& p, uint32_t in, uint64_t now) {
  table_[mac_key(p.data + 6)] = in;
  if (!(p.data[0] & 1)) {
    auto it = table_.find(mac_key(p.data));
    if (it != table_.end()) {
      if (it->second != in && ports_[it->second])
        ports_[it->second]->take(p, now);
      else
        pool_.free(p);
      return;
    }
  }
  // Broadcast, multicast or unknown: flood; the last port gets the original.
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < ports_.size(); ++i)
    if (i != in && ports_[i]) out.push_back(i);
  if (out.empty()) {
    pool_.free(p);
    return;
  }
  for (size_t k = 0; k + 1 < out.size(); ++k) {
    Packet copy;
    if (!pool_.alloc(copy) || copy.room < p.len) {
      if (copy.handle) pool_.free(copy);
      ++copy_failed_;
      continue;
    }
    std::memcpy(copy.data, p.data, p.len);
    copy.len = p.len;
    ports_[out[k]]->take(copy, now);
  }
  ports_[out.back()]->take(p, now);
}

// ------------------------------------------------------------------ Network

Network::Network(uint64_t seed, size_t buffers)
    : seed_(seed),
      buffers_(buffers),
      sim_(seed),
      seeds_(seed ^ 0x5eedf00dull),
      pool_(wire::MacAddr{}, buffers) {}

Network::~Network() {
  // Frames waiting at a host may come from another host's pool: return them
  // while every pool still exists.
  for (auto& h : hosts_) h->device().drop_rx();
}

Host& Network::add_host(const std::string& name, const wire::Ipv4Cidr& cidr,
                        const stack::StackConfig& base) {
  stack::StackConfig cfg = base;
  cfg.addr = cidr;
  for (auto& b : cfg.secret) b = uint8_t(seeds_.next());
  const uint32_t n = next_mac_++;
  const wire::MacAddr mac{{0x02, 0x00, 0x00, uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)}};
  hosts_.push_back(std::make_unique<Host>(sim_, name, cfg, mac, buffers_));
  if (offload_) hosts_.back()->set_checksum_offload(true);
  return *hosts_.back();
}

Switch& Network::add_switch() {
  switches_.push_back(
      std::make_unique<Switch>(pool_, "switch" + std::to_string(switches_.size() + 1)));
  return *switches_.back();
}

std::pair<Link*, Link*> Network::connect(Node& a, Node& b, const LinkParams& ab,
                                         const LinkParams& ba) {
  const uint32_t pa = a.new_port(), pb = b.new_port();
  links_.push_back(std::make_unique<Link>(sim_, pool_, ab, &b, pb, seeds_.next(),
                                          a.label() + "->" + b.label()));
  Link* l1 = links_.back().get();
  links_.push_back(std::make_unique<Link>(sim_, pool_, ba, &a, pa, seeds_.next(),
                                          b.label() + "->" + a.label()));
  Link* l2 = links_.back().get();
  a.attach(pa, l1);
  b.attach(pb, l2);
  return {l1, l2};
}

void Network::set_trace(LinkTrace* t) {
  for (auto& l : links_) l->set_trace(t);
}

void Network::finish() {
  const size_t total = buffers_ * (hosts_.size() + 1);
  for (auto& h : hosts_) h->device().reserve_rx(total);
}

}  // namespace ts::sim
