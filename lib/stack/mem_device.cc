#include "stack/mem_device.hh"

#include <algorithm>
#include <cstring>
#include <new>

namespace ts::stack {

MemDevice::MemDevice(const wire::MacAddr& mac, size_t buffers, uint32_t buffer_size)
    : buffer_size_(buffer_size),
      storage_(static_cast<uint8_t*>(std::calloc(std::max<size_t>(buffers * buffer_size, 1), 1))),
      descs_(buffers) {
  if (!storage_) throw std::bad_alloc();
  info_.mac = mac;
  free_.reserve(buffers);
  for (size_t i = buffers; i-- > 0;) {
    descs_[i] = {this, uint32_t(i)};
    free_.push_back(uint32_t(i));
  }
  size_queues();
}

MemDevice::~MemDevice() {
  // Frames waiting here may belong to the peer's pool: return them.
  drop_rx();
  for (size_t k = 0; k < pending_count_; ++k) free(pending_[k]);
  if (peer_) {
    // Frames of ours waiting at the peer must not outlive our pool.
    MemDevice& q = *peer_;
    size_t keep = 0;
    for (size_t k = 0; k < q.rx_count_; ++k) {
      const Packet& p = q.rx_[(q.rx_head_ + k) % q.rx_.size()];
      if (static_cast<const Desc*>(p.handle)->owner != this)
        q.rx_[(q.rx_head_ + keep++) % q.rx_.size()] = p;
    }
    q.rx_count_ = keep;
    if (q.peer_ == this) q.peer_ = nullptr;
  }
}

void MemDevice::drop_rx() {
  for (; rx_count_; --rx_count_, rx_head_ = (rx_head_ + 1) % rx_.size()) free(rx_[rx_head_]);
}

void MemDevice::reserve_rx(size_t buffers) {
  extra_rx_ += buffers;
  size_queues();
}

void MemDevice::size_queues() {
  const size_t n = descs_.size() + (peer_ ? peer_->descs_.size() : 0) + extra_rx_;
  std::vector<Packet> ring(n);
  for (size_t k = 0; k < rx_count_; ++k) ring[k] = rx_[(rx_head_ + k) % rx_.size()];
  rx_.swap(ring);
  rx_head_ = 0;
  pending_.resize(std::max(n, pending_count_));
}

void MemDevice::wire_to(MemDevice* peer) {
  peer_ = peer;
  size_queues();
  if (peer) peer->size_queues();
}

bool MemDevice::alloc(Packet& p) { return !alloc_fails_ && take_buffer(p); }

bool MemDevice::take_buffer(Packet& p) {
  if (free_.empty()) return false;
  const uint32_t i = free_.back();
  free_.pop_back();
  ++in_use_;
  p = Packet{};
  p.data = &storage_[size_t(i) * buffer_size_];
  p.room = buffer_size_;
  p.handle = &descs_[i];
  return true;
}

void MemDevice::release(uint32_t index) {
  free_.push_back(index);
  --in_use_;
}

void MemDevice::free(Packet& p) {
  auto* d = static_cast<Desc*>(p.handle);
  d->owner->release(d->index);
  p.handle = nullptr;
}

void MemDevice::push_rx(const Packet& p) {
  if (rx_count_ == rx_.size()) {  // cannot happen: the ring holds every buffer of both pools
    Packet q = p;
    free(q);
    return;
  }
  rx_[(rx_head_ + rx_count_) % rx_.size()] = p;
  ++rx_count_;
}

bool MemDevice::inject(std::span<const uint8_t> frame, uint32_t flags) {
  if (frame.size() > buffer_size_) return false;
  Packet p;
  if (!take_buffer(p)) return false;
  std::memcpy(p.data, frame.data(), frame.size());
  p.len = uint32_t(frame.size());
  p.flags = flags;
  push_rx(p);
  return true;
}

uint16_t MemDevice::rx_burst(Packet* pkts, uint16_t n, uint64_t) {
  uint16_t k = 0;
  for (; k < n && rx_count_; ++k, --rx_count_, rx_head_ = (rx_head_ + 1) % rx_.size()) {
    pkts[k] = rx_[rx_head_];
    // The room a receiver sees starts at its data pointer.
    const auto* d = static_cast<const Desc*>(pkts[k].handle);
    const uint8_t* start = &d->owner->storage_[size_t(d->index) * d->owner->buffer_size_];
    pkts[k].room = d->owner->buffer_size_ - uint32_t(pkts[k].data - start);
    pkts[k].flags &= pktflag::rx_ip_csum_good | pktflag::rx_ip_csum_bad | pktflag::rx_l4_csum_good |
                     pktflag::rx_l4_csum_bad | pktflag::rx_tcp_merged;
  }
  return k;
}

void MemDevice::send(Packet& p) {
  // Sized by size_queues() like the receive ring, for every buffer that could
  // be pending at once; the growth is a fallback that should never run.
  if (pending_count_ == pending_.size()) pending_.resize(pending_.size() * 2 + 16);
  pending_[pending_count_++] = p;
}

void MemDevice::flush(uint64_t now) {
  for (size_t k = 0; k < pending_count_; ++k) {
    Packet& p = pending_[k];
    if (sink_) {
      sink_->take(p, now);  // as sent: the sink plays the device's receiving side
    } else if (peer_) {
      peer_->push_rx(arriving(p));
    } else {
      sent_.emplace_back(p.data, p.data + p.len);
      free(p);
    }
  }
  pending_count_ = 0;
}

std::vector<std::vector<uint8_t>> MemDevice::take_sent() {
  std::vector<std::vector<uint8_t>> out;
  out.swap(sent_);
  return out;
}

}  // namespace ts::stack
