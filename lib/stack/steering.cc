#include "stack/steering.hh"

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>

#include "wire/arp.hh"
#include "wire/bytes.hh"
#include "wire/ethernet.hh"
#include "wire/ipv4.hh"

namespace ts::stack {

namespace {

constexpr std::array<uint8_t, 52> kSymmetricKey = [] {
  std::array<uint8_t, 52> k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = i % 2 ? 0x5a : 0x6d;
  return k;
}();

// The 32 key bits starting at bit i (bit 0 is the top bit of key[0]).
uint32_t key_window(std::span<const uint8_t> key, unsigned i) {
  uint64_t w = 0;
  for (unsigned b = 0; b < 5; ++b) w = (w << 8) | key[i / 8 + b];
  return uint32_t(w >> (8 - i % 8));
}

}  // namespace

std::span<const uint8_t> FlowPlacement::symmetric_key() { return kSymmetricKey; }

FlowPlacement::FlowPlacement(std::span<const uint8_t> key, std::vector<uint16_t> reta,
                             unsigned cores)
    : reta_(std::move(reta)), mask_(uint32_t(reta_.size() - 1)), cores_(cores) {
  if (key.size() < 16) throw std::invalid_argument("RSS key shorter than 16 bytes");
  if (reta_.empty() || (reta_.size() & (reta_.size() - 1)))
    throw std::invalid_argument("redirection table size is not a power of two");
  if (cores_ == 0) throw std::invalid_argument("no cores");
  for (uint16_t c : reta_)
    if (c >= cores_) throw std::invalid_argument("redirection table names a core beyond the count");
  for (unsigned at = 0; at < 12; ++at)
    for (unsigned v = 0; v < 256; ++v) {
      uint32_t h = 0;
      for (unsigned bit = 0; bit < 8; ++bit)
        if (v & (0x80u >> bit)) h ^= key_window(key, at * 8 + bit);
      t_[at][v] = h;
    }
}

std::vector<uint16_t> FlowPlacement::round_robin(size_t size, unsigned n) {
  std::vector<uint16_t> reta(size);
  for (size_t i = 0; i < size; ++i) reta[i] = uint16_t(i % n);
  return reta;
}

FlowPlacement FlowPlacement::spread(unsigned cores) {
  // Every core owns at least one entry.
  return FlowPlacement(symmetric_key(),
                       round_robin(std::bit_ceil(std::max<size_t>(kDefaultRetaSize, cores)), cores),
                       cores);
}

SteeringFabric::SteeringFabric(FlowPlacement placement, unsigned queues, size_t ring_size,
                               size_t tx_ring_size)
    : placement_(std::move(placement)), queues_(queues) {
  if (queues_ == 0 || queues_ > cores()) throw std::invalid_argument("queues must be 1 to cores");
  const unsigned n = cores();
  rx_.resize(size_t(n) * n);
  for (unsigned from = 0; from < n; ++from)
    for (unsigned to = 0; to < n; ++to)
      if (from != to) rx_[from * n + to] = std::make_unique<util::SpscRing<Packet>>(ring_size);
  tx_.resize(n);
  for (unsigned c = queues_; c < n; ++c)
    tx_[c] = std::make_unique<util::SpscRing<Packet>>(tx_ring_size);
}

SteeringDevice::SteeringDevice(SteeringFabric& fabric, unsigned core, Device& base)
    : f_(fabric), core_(core), base_(base), owns_queue_(core < fabric.queues()) {}

SteeringDevice::~SteeringDevice() {
  Packet p;
  for (unsigned from = 0; from < f_.cores(); ++from) {
    if (from != core_)
      while (f_.rx_ring(from, core_).pop(&p, 1)) base_.free(p);
    if (from >= f_.queues() && f_.carrier(from) == core_)
      while (f_.tx_ring(from).pop(&p, 1)) base_.free(p);
  }
}

bool SteeringDevice::idle() const {
  for (unsigned from = 0; from < f_.cores(); ++from) {
    if (from != core_ && !f_.rx_ring(from, core_).empty()) return false;
    if (from >= f_.queues() && f_.carrier(from) == core_ && !f_.tx_ring(from).empty()) return false;
  }
  return true;
}

SteeringDevice::Kind SteeringDevice::classify(const Packet& p, uint16_t& owner) const {
  // Only what placement needs, from the wire layer's constants: the stack
  // parses (and counts) the frame properly once it is on its owner's core.
  const uint8_t* d = p.data;
  size_t off = wire::kEthHeaderLen;
  if (p.len < off) return Kind::local;
  uint16_t type = wire::load_be16(d + off - 2);
  if (type == wire::ethertype::vlan) {
    off += wire::kVlanTagLen;
    if (p.len < off) return Kind::local;
    type = wire::load_be16(d + off - 2);
  }
  if (type == wire::ethertype::arp) {
    // Replies teach every core's ARP cache; requests are answered once, here.
    return p.len >= off + wire::kArpLen &&
                   wire::load_be16(d + off + 6) == uint16_t(wire::ArpOp::reply)
               ? Kind::arp_reply
               : Kind::local;
  }
  if (type != wire::ethertype::ipv4 || p.len < off + wire::kIpv4HeaderLen) return Kind::local;
  const uint8_t* ip = d + off;
  const unsigned ihl = unsigned(ip[0] & 0x0f) * 4;
  const uint8_t proto = ip[9];
  if ((proto != wire::ipproto::tcp && proto != wire::ipproto::udp) ||
      ihl < wire::kIpv4HeaderLen || p.len < off + ihl + 4)
    return Kind::local;
  // Fragments carry no ports past the first; they stay where they arrived.
  if (wire::load_be16(ip + 6) & 0x3fff) return Kind::local;
  const uint8_t* l4 = ip + ihl;
  owner = f_.placement().owner(wire::Ipv4Addr{wire::load_be32(ip + 12)},
                               wire::Ipv4Addr{wire::load_be32(ip + 16)}, wire::load_be16(l4),
                               wire::load_be16(l4 + 2));
  return Kind::flow;
}

uint16_t SteeringDevice::take_steered(Packet* pkts, uint16_t n) {
  uint16_t k = 0;
  const unsigned cores = f_.cores();
  for (unsigned i = 0; i < cores && k < n; ++i) {
    const unsigned from = (next_from_ + i) % cores;
    if (from == core_) continue;
    k += uint16_t(f_.rx_ring(from, core_).pop(pkts + k, n - k));
  }
  next_from_ = (next_from_ + 1) % cores;
  ctr_->steer_in += k;
  return k;
}

void SteeringDevice::copy_to_others(const Packet& p) {
  for (unsigned to = 0; to < f_.cores(); ++to) {
    if (to == core_) continue;
    Packet c;
    if (!base_.alloc(c) || c.room < p.len) {
      if (c.handle) base_.free(c);
      ++ctr_->tx_alloc_failed;
      continue;
    }
    std::memcpy(c.data, p.data, p.len);
    c.len = p.len;
    c.flags = p.flags;
    c.seg_size = p.seg_size;
    if (f_.rx_ring(core_, to).push(c)) {
      ++ctr_->steer_out;
    } else {
      base_.free(c);
      ++ctr_->steer_ring_full;
    }
  }
}

uint16_t SteeringDevice::rx_burst(Packet* pkts, uint16_t n, uint64_t now) {
  if (f_.cores() == 1) return base_.rx_burst(pkts, n, now);
  // Half the burst for what other cores passed on, so neither source starves.
  uint16_t k = take_steered(pkts, n / 2);
  if (owns_queue_ && receiving_) {
    if (f_.queues() < f_.cores()) relay();  // room for the cores that send through us
    // Received straight into the caller's array and compacted in place (a
    // local array of Packets would be zeroed on every call).
    const uint16_t end = uint16_t(k + base_.rx_burst(pkts + k, uint16_t(n - k), now));
    for (uint16_t i = k; i < end; ++i) {
      Packet& p = pkts[i];
      uint16_t owner = uint16_t(core_);
      const Kind kind = classify(p, owner);
      if (kind == Kind::arp_reply) copy_to_others(p);
      if (owner == core_) {
        if (i != k) pkts[k] = p;
        ++k;
      } else if (f_.rx_ring(core_, owner).push(p)) {
        ++ctr_->steer_out;
      } else {
        base_.free(p);
        ++ctr_->steer_ring_full;
      }
    }
  }
  if (k < n) k += take_steered(pkts + k, uint16_t(n - k));
  return k;
}

void SteeringDevice::send(Packet& p) {
  if (owns_queue_) {
    base_.send(p);
    return;
  }
  // A full ring usually drains within microseconds (the carrier empties it
  // every loop): try a while, as a NIC's full transmit ring is retried,
  // before dropping and counting.
  for (int attempt = 0; attempt < 1024; ++attempt) {
    if (f_.tx_ring(core_).push(p)) {
      ++ctr_->steer_tx_relayed;
      return;
    }
  }
  base_.free(p);
  ++ctr_->steer_tx_ring_full;
}

void SteeringDevice::relay() {
  Packet p;
  for (unsigned from = f_.queues(); from < f_.cores(); ++from)
    if (f_.carrier(from) == core_)
      while (f_.tx_ring(from).pop(&p, 1)) base_.send(p);
}

void SteeringDevice::flush(uint64_t now) {
  if (!owns_queue_) return;
  relay();
  base_.flush(now);
}

}  // namespace ts::stack
