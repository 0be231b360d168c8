#include "stack/impair.hh"

#include <cstdio>
#include <cstring>

#include "util/parse.hh"
#include "wire/bytes.hh"
#include "wire/checksum.hh"
#include "wire/ipv4.hh"

namespace ts::stack {

std::string ImpairSpec::str() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "loss=%g,dup=%g,reorder=%g,corrupt=%g,delay=%lluns,seed=%llu", loss,
                dup, reorder, corrupt, (unsigned long long)delay_ns, (unsigned long long)seed);
  return buf;
}

std::string parse_impair(std::string_view text, ImpairSpec& rx, ImpairSpec& tx) {
  bool to_rx = true, to_tx = true;
  if (text.starts_with("rx:")) {
    to_tx = false;
    text.remove_prefix(3);
  } else if (text.starts_with("tx:")) {
    to_rx = false;
    text.remove_prefix(3);
  }
  if (text.empty()) return "--impair needs key=value settings, e.g. loss=0.01,seed=7";
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return "--impair: '" + std::string(item) + "' is not key=value";
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    auto bad = [&](const char* what) {
      return "--impair: " + std::string(key) + "=" + std::string(value) + " is not " + what;
    };
    auto set = [&](auto member, auto v) {
      if (to_rx) rx.*member = v;
      if (to_tx) tx.*member = v;
    };
    if (key == "loss" || key == "dup" || key == "reorder" || key == "corrupt") {
      auto p = util::parse_probability(value);
      if (!p) return bad("a probability (0.01 or 1%)");
      set(key == "loss"    ? &ImpairSpec::loss
          : key == "dup"   ? &ImpairSpec::dup
          : key == "reorder" ? &ImpairSpec::reorder
                             : &ImpairSpec::corrupt,
          *p);
    } else if (key == "delay") {
      auto d = util::parse_duration_ns(value);
      if (!d) return bad("a duration (200us, 5ms)");
      set(&ImpairSpec::delay_ns, *d);
    } else if (key == "seed") {
      auto s = util::parse_uint(value);
      if (!s) return bad("an unsigned integer");
      set(&ImpairSpec::seed, *s);
    } else {
      return "--impair: unknown key '" + std::string(key) +
             "' (known: loss, dup, reorder, corrupt, delay, seed)";
    }
  }
  return {};
}

namespace {

// Computes in software the checksums a packet asked the device to fill in, so
// that a bit flipped afterwards is caught by the receiver instead of being
// covered by a checksum computed over the corrupted bytes.
void finish_offloaded_checksums(Packet& p) {
  if (!(p.flags & (pktflag::tx_ip_csum | pktflag::tx_tcp_csum | pktflag::tx_udp_csum))) return;
  uint8_t* l3 = p.data + p.l2_len;
  if (p.flags & pktflag::tx_ip_csum) {
    wire::store_be16(l3 + 10, 0);
    wire::store_be16(l3 + 10, wire::checksum(l3, p.l3_len));
  }
  if (p.flags & (pktflag::tx_tcp_csum | pktflag::tx_udp_csum)) {
    // The checksum field holds the pseudo-header sum (CsumFill::offload).
    uint8_t* l4 = l3 + p.l3_len;
    const size_t l4_len = p.len - p.l2_len - p.l3_len;
    uint8_t* field = l4 + ((p.flags & pktflag::tx_tcp_csum) ? 16 : 6);
    const uint16_t pseudo = wire::load_be16(field);
    wire::store_be16(field, 0);
    uint16_t c = wire::checksum(l4, l4_len, pseudo);
    if (c == 0 && (p.flags & pktflag::tx_udp_csum)) c = 0xffff;
    wire::store_be16(field, c);
  }
  p.flags &= ~(pktflag::tx_ip_csum | pktflag::tx_tcp_csum | pktflag::tx_udp_csum);
}

}  // namespace

ImpairedDevice::ImpairedDevice(Device& inner, const ImpairSpec& rx, const ImpairSpec& tx)
    : inner_(inner) {
  rx_.spec = rx;
  tx_.spec = tx;
  // Distinct streams per direction even when both share one seed.
  rx_.rng.reseed(rx.seed * 2);
  tx_.rng.reseed(tx.seed * 2 + 1);
  rx_.line.resize(kHoldCapacity);
  tx_.line.resize(kHoldCapacity);
}

ImpairedDevice::~ImpairedDevice() {
  for (Direction* d : {&rx_, &tx_}) {
    for (; d->count > 0; --d->count, d->head = (d->head + 1) % kHoldCapacity)
      inner_.free(d->line[d->head].pkt);
    if (d->has_swap) inner_.free(d->swap.pkt);
  }
}

bool ImpairedDevice::duplicate(const Packet& p, Packet& copy) {
  if (!inner_.alloc(copy)) return false;
  if (copy.room < p.len) {
    inner_.free(copy);
    return false;
  }
  std::memcpy(copy.data, p.data, p.len);
  copy.len = p.len;
  copy.flags = p.flags;
  copy.seg_size = p.seg_size;
  copy.l2_len = p.l2_len;
  copy.l3_len = p.l3_len;
  return true;
}

void ImpairedDevice::push(Direction& d, const Packet& p, uint64_t due, bool overtake) {
  if (d.count == kHoldCapacity) {
    ++d.stats.overflow;
    Packet q = p;
    inner_.free(q);
    return;
  }
  d.line[(d.head + d.count) % kHoldCapacity] = {p, due, overtake};
  ++d.count;
}

void ImpairedDevice::admit(Direction& d, Packet& p, uint64_t now, bool copy_on_corrupt) {
  const ImpairSpec& s = d.spec;
  if (d.rng.chance(s.loss)) {
    ++d.stats.dropped;
    inner_.free(p);
    return;
  }
  if (d.rng.chance(s.corrupt) && p.len > 14) {
    bool writable = !copy_on_corrupt;
    Packet copy;
    if (copy_on_corrupt && duplicate(p, copy)) {
      inner_.free(p);
      p = copy;
      writable = true;
    }
    if (writable) {
      finish_offloaded_checksums(p);
      const size_t byte = 14 + d.rng.below(p.len - 14);
      p.data[byte] ^= uint8_t(1u << d.rng.below(8));
      // A device's verdict on the checksums no longer holds.
      p.flags &= ~(pktflag::rx_ip_csum_good | pktflag::rx_l4_csum_good);
      ++d.stats.corrupted;
    }
  }
  const uint64_t due = now + s.delay_ns;
  if (s.delay_ns) ++d.stats.delayed;
  const bool overtake = d.rng.chance(s.reorder);
  Packet copy;
  const bool dup = d.rng.chance(s.dup) && duplicate(p, copy);
  push(d, p, due, overtake);
  if (dup) {
    ++d.stats.duplicated;
    push(d, copy, due, false);
  }
}

template <class Out>
size_t ImpairedDevice::release(Direction& d, uint64_t now, size_t max, Out&& out) {
  size_t k = 0;
  auto emit = [&](Packet& p) {
    out(p, k++);
    ++d.stats.passed;
  };
  while (k < max && d.count > 0 && d.line[d.head].due <= now) {
    Held h = d.line[d.head];
    d.head = (d.head + 1) % kHoldCapacity;
    --d.count;
    if (h.overtake && !d.has_swap) {
      d.swap = h;
      d.swap.due = now + kReorderMaxHoldNs;
      d.has_swap = true;
      ++d.stats.reordered;
      continue;
    }
    emit(h.pkt);
    if (d.has_swap && k < max) {
      d.has_swap = false;
      emit(d.swap.pkt);
    }
  }
  if (d.has_swap && d.swap.due <= now && k < max) {
    d.has_swap = false;
    emit(d.swap.pkt);
  }
  return k;
}

uint16_t ImpairedDevice::rx_burst(Packet* pkts, uint16_t n, uint64_t now) {
  now_ = now;
  if (!rx_.spec.active()) return inner_.rx_burst(pkts, n, now);
  PacketBurst<64> burst;
  Packet* in = burst.get();
  const uint16_t got = inner_.rx_burst(in, n < 64 ? n : 64, now);
  for (uint16_t i = 0; i < got; ++i) admit(rx_, in[i], now, false);
  return uint16_t(release(rx_, now, n, [&](Packet& p, size_t k) { pkts[k] = p; }));
}

void ImpairedDevice::send(Packet& p) {
  if (!tx_.spec.active()) return inner_.send(p);
  admit(tx_, p, now_, true);
}

void ImpairedDevice::flush(uint64_t now) {
  now_ = now;
  if (tx_.spec.active()) release(tx_, now, SIZE_MAX, [&](Packet& p, size_t) { inner_.send(p); });
  inner_.flush(now);
}

}  // namespace ts::stack
