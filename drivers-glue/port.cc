#include "drivers-glue/port.hh"

#include "drivers-glue/capture.hh"

#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace ts::glue {

namespace {

[[noreturn]] void fail(const std::string& label, const std::string& what, int err) {
  throw std::runtime_error("port " + label + ": " + what + ": " + rte_strerror(err < 0 ? -err : err));
}

}  // namespace

EthPort::EthPort(uint16_t port_id, std::string label, const PortConfig& cfg)
    : id_(port_id), label_(std::move(label)) {
  rte_eth_dev_info dev_info{};
  if (int rc = rte_eth_dev_info_get(id_, &dev_info); rc != 0) fail(label_, "no device info", rc);
  caps_.driver = dev_info.driver_name ? dev_info.driver_name : "?";
  const bool ring = caps_.driver == "net_ring";  // the in-memory ring port
  caps_.max_queues = std::min(dev_info.max_rx_queues, dev_info.max_tx_queues);
  caps_.queues = std::max<uint16_t>(1, std::min(cfg.queues, caps_.max_queues));
  caps_.tx_batch = cfg.tx_batch ? std::min(cfg.tx_batch, PortConfig::kMaxTxBatch)
                                : tx_batch_default(caps_.driver);

  rte_eth_conf conf{};
  if (caps_.queues > 1 && dev_info.flow_type_rss_offloads != 0) {
    caps_.rss = true;
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & dev_info.flow_type_rss_offloads;
    // A symmetric key: both directions of a flow hash to the same queue.
    const auto key = stack::FlowPlacement::symmetric_key();
    if (dev_info.hash_key_size >= 16 && dev_info.hash_key_size <= key.size()) {
      conf.rx_adv_conf.rss_conf.rss_key = const_cast<uint8_t*>(key.data());
      conf.rx_adv_conf.rss_conf.rss_key_len = dev_info.hash_key_size;
      caps_.rss_key_ours = true;
    }
  }
  // Checksum offloads only where offered; the stack computes the rest in software
  // (af_xdp and af_packet offer none).
  const uint64_t rx_capa = dev_info.rx_offload_capa, tx_capa = dev_info.tx_offload_capa;
  caps_.rx_ip_csum = rx_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  caps_.rx_l4_csum = (rx_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) && (rx_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
  caps_.tx_ip_csum = tx_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  caps_.tx_tcp_csum = tx_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  caps_.tx_udp_csum = tx_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  if (caps_.rx_ip_csum) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  if (caps_.rx_l4_csum)
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  if (caps_.tx_ip_csum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  if (caps_.tx_tcp_csum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  if (caps_.tx_udp_csum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  // TSO needs both checksums offloaded too (the stack leaves them to the device).
  const bool dev_tso = cfg.tso && !ring && (tx_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) &&
                       caps_.tx_ip_csum && caps_.tx_tcp_csum;
  const bool tap = caps_.driver == "net_tap";
  const int socket = std::max(0, rte_eth_dev_socket_id(id_));
  const uint16_t ring_mtu = std::min(cfg.ring_mtu, PortConfig::kMaxRingMtu);
  char pool_name[RTE_MEMPOOL_NAMESIZE];
  if ((ring && ring_mtu <= PortConfig::kMaxRingTsoMtu && cfg.tso) || dev_tso) {
    // TSO frames, before the offload is turned on (without the pool, it is
    // not). Over the ring a bulk connection keeps a window's worth in flight
    // (a few MB) in the rings; a NIC holds up to its transmit descriptors'
    // worth; the TAP port writes each frame out as it is given. And every
    // core's mempool cache holds some.
    const uint32_t cores = cfg.queues, per_core = PortDevice::kTxBatch + 128;
    const uint32_t large = ring  ? 2048 + cores * 512
                           : tap ? cores * per_core + 256
                                 : cores * (cfg.tx_desc + per_core) + 512;
    std::snprintf(pool_name, sizeof pool_name, "ts_tso_p%u", id_);
    large_pool_ = rte_pktmbuf_pool_create(
        pool_name, large, 128, 0, uint16_t(PortConfig::kMaxTso + 18 + RTE_PKTMBUF_HEADROOM),
        socket);  // none (no memory left for it): the port offers no TSO (describe() tells)
  }
  if (dev_tso && large_pool_) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;

  // The ring port's queues sit queue_stride apart (create_ring_pair).
  if (ring)
    stride_ = std::max<uint16_t>(1, std::min<uint16_t>(cfg.queue_stride, caps_.max_queues / caps_.queues));
  const uint16_t dev_queues = uint16_t(caps_.queues * stride_);
  if (int rc = rte_eth_dev_configure(id_, dev_queues, dev_queues, &conf); rc != 0)
    fail(label_, "configure failed", rc);
  uint16_t rx_desc = cfg.rx_desc, tx_desc = cfg.tx_desc;
  if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(id_, &rx_desc, &tx_desc); rc != 0)
    fail(label_, "descriptor counts rejected", rc);

  // Beyond the queues: what the cores' steering rings and mempool caches may
  // hold (cfg.queues is the number of cores sharing the port).
  const uint32_t steering =
      cfg.queues > 1 ? uint32_t(cfg.queues) * uint32_t(stack::SteeringFabric::kRingSize + 256) +
                           uint32_t(cfg.queues - caps_.queues) * uint32_t(stack::SteeringFabric::kTxRingSize)
                     : 0;
  uint32_t mbufs = uint32_t(caps_.queues) * (rx_desc + tx_desc + 2 * PortDevice::kTxBatch) +
                   cfg.extra_mbufs + steering;
  // The ring port with large frames: buffers of the MTU's size, fewer of them
  // (the ring PMD keeps no descriptors filled; 4096 of 64 KB are 256 MB).
  uint32_t buf_size = RTE_MBUF_DEFAULT_BUF_SIZE;
  if (ring && ring_mtu > 1500) {
    buf_size = uint32_t(ring_mtu) + 18 + RTE_PKTMBUF_HEADROOM;
    mbufs = std::min<uint32_t>(mbufs, 4096 + steering);
  }
  std::snprintf(pool_name, sizeof pool_name, "ts_pool_p%u", id_);
  pool_ = rte_pktmbuf_pool_create(pool_name, mbufs, 256, 0, uint16_t(buf_size), socket);
  if (!pool_) fail(label_, "cannot create a pool of " + std::to_string(mbufs) + " buffers", rte_errno);

  for (uint16_t q = 0; q < dev_queues; ++q) {
    rte_eth_rxconf rxconf = dev_info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(id_, q, rx_desc, socket, &rxconf, pool_); rc != 0)
      fail(label_, "rx queue " + std::to_string(q) + " setup failed", rc);
    rte_eth_txconf txconf = dev_info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(id_, q, tx_desc, socket, &txconf); rc != 0)
      fail(label_, "tx queue " + std::to_string(q) + " setup failed", rc);
  }

  rte_ether_addr mac{};
  rte_eth_macaddr_get(id_, &mac);
  if (rte_is_zero_ether_addr(&mac)) {
    // The ring PMD has no address of its own: give it a locally administered one.
    const uint8_t local[6] = {0x02, 0x74, 0x73, 0x00, uint8_t(id_ >> 8), uint8_t(id_)};
    std::memcpy(mac.addr_bytes, local, 6);
    rte_eth_dev_default_mac_addr_set(id_, &mac);
  }
  std::memcpy(info_.mac.b.data(), mac.addr_bytes, 6);
  uint16_t mtu = 1500;
  if (rte_eth_dev_get_mtu(id_, &mtu) == 0 && mtu >= 576) caps_.mtu = mtu;
  info_.mtu = std::min<uint16_t>(caps_.mtu, RTE_MBUF_DEFAULT_DATAROOM - 18);
  if (ring && ring_mtu) caps_.mtu = info_.mtu = ring_mtu;
  if (ring) {
    caps_.in_process = true;
    caps_.rx_ip_csum = caps_.rx_l4_csum = true;
    caps_.tx_ip_csum = caps_.tx_tcp_csum = caps_.tx_udp_csum = true;
  }
  if (large_pool_) caps_.tso = info_.tso_max = PortConfig::kMaxTso;
  // A NIC's driver may refuse a TSO frame of short segments (i40e under 256
  // bytes): the stack cuts those itself.
  if (large_pool_ && dev_tso && !tap) info_.tso_min_seg = 256;
  // A NIC checks (and some fix up) the offload requests of each frame before
  // sending it (rte_eth_tx_prepare); the in-memory ring has nothing to check.
  caps_.tx_prepare = !ring && (conf.txmode.offloads != 0);
  if (large_pool_ && tap) {
    // The TAP port cuts a frame with DPDK's GSO library into at most 64
    // segments (MAX_GSO_MBUFS), and refuses one whose segments' Ethernet
    // frames, not IP packets, would exceed the MTU: TCP makes a frame's
    // segments that much shorter than SMSS.
    info_.tso_segs = 64;
    info_.tso_counts_l2 = true;
  }
  info_.tx_ip_csum = caps_.tx_ip_csum;
  info_.tx_tcp_csum = caps_.tx_tcp_csum;
  info_.tx_udp_csum = caps_.tx_udp_csum;

  if (int rc = rte_eth_dev_start(id_); rc != 0) fail(label_, "start failed", rc);
  started_ = true;
  if (caps_.rss && dev_info.reta_size > 0 && dev_info.reta_size <= 512) {
    // Fill the redirection table ourselves (entry i -> queue i % queues), so
    // the cores can compute where the NIC puts a flow.
    rte_eth_rss_reta_entry64 reta[512 / RTE_ETH_RETA_GROUP_SIZE]{};
    const auto entries = stack::FlowPlacement::round_robin(dev_info.reta_size, caps_.queues);
    for (uint16_t i = 0; i < dev_info.reta_size; ++i) {
      auto& g = reta[i / RTE_ETH_RETA_GROUP_SIZE];
      g.mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
      g.reta[i % RTE_ETH_RETA_GROUP_SIZE] = entries[i];
    }
    if (rte_eth_dev_rss_reta_update(id_, reta, dev_info.reta_size) == 0)
      caps_.reta_size = dev_info.reta_size;
  }
  if (cfg.promiscuous) rte_eth_promiscuous_enable(id_);
}

EthPort::~EthPort() {
  if (started_) rte_eth_dev_stop(id_);
  rte_eth_dev_close(id_);
  if (pool_) rte_mempool_free(pool_);
  if (large_pool_) rte_mempool_free(large_pool_);
}

std::string EthPort::describe() const {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "port %u: %s (%s) mac %s mtu %u queues %u/%u%s tx batch %u checksum offload "
                "rx:%s tx:%s%s%s",
                id_, label_.c_str(), caps_.driver.c_str(), info_.mac.str().c_str(), caps_.mtu,
                caps_.queues, caps_.max_queues, caps_.rss ? " rss" : "", caps_.tx_batch,
                caps_.rx_ip_csum ? (caps_.rx_l4_csum ? "ip+l4" : "ip") : "none",
                caps_.tx_ip_csum ? (caps_.tx_tcp_csum ? "ip+l4" : "ip") : "none",
                caps_.tso ? " tso" : "", caps_.in_process ? " (in-process: deferred checksums trusted)" : "");
  return buf;
}

bool EthPort::rss_places(unsigned cores) const {
  return caps_.rss && caps_.rss_key_ours && caps_.queues == cores && caps_.reta_size &&
         !(caps_.reta_size & (caps_.reta_size - 1));
}

stack::FlowPlacement EthPort::placement(unsigned cores) const {
  if (!rss_places(cores)) return stack::FlowPlacement::spread(cores);
  return stack::FlowPlacement(stack::FlowPlacement::symmetric_key(),
                              stack::FlowPlacement::round_robin(caps_.reta_size, caps_.queues),
                              cores);
}

bool EthPort::wait_link_up(unsigned timeout_ms) const {
  for (unsigned waited = 0;; waited += 10) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(id_, &link) == 0 && link.link_status == RTE_ETH_LINK_UP)
      return true;
    if (waited >= timeout_ms) return false;
    rte_delay_ms(10);
  }
}

PortDevice::PortDevice(EthPort& port, uint16_t queue)
    : port_(port),
      queue_(port.device_queue(queue)),
      tx_batch_(port.caps().tx_batch),
      prepare_(port.caps().tx_prepare),
      stash_room_(rte_pktmbuf_data_room_size(port.pool())) {}

PortDevice::~PortDevice() {
  if (tx_count_) transmit();
  while (stash_count_) rte_pktmbuf_free(stash_[--stash_count_]);
}

void PortDevice::capture(const rte_mbuf* mb) {
  switch (cap_->add(rte_pktmbuf_mtod(mb, const uint8_t*), mb->data_len, now_)) {
    case CaptureQueue::taken: ++stats_.pcap_frames; break;
    case CaptureQueue::dropped: ++stats_.pcap_dropped; break;
    case CaptureQueue::complete: break;
  }
}

uint16_t PortDevice::rx_burst(stack::Packet* pkts, uint16_t n, uint64_t now) {
  now_ = now;
  rte_mbuf* m[64];
  if (n > 64) n = 64;
  const uint16_t got = rte_eth_rx_burst(port_.id(), queue_, m, n);
  // Another core (or the NIC) wrote these buffers last: their misses overlap
  // when the whole burst's buffer headers are asked for at once.
  for (uint16_t i = 0; i < got; ++i) rte_prefetch0(m[i]);
  uint16_t k = 0;
  for (uint16_t i = 0; i < got; ++i) {
    rte_mbuf* mb = m[i];
    if (mb->nb_segs != 1) {
      ++stats_.rx_multiseg;
      rte_pktmbuf_free(mb);
      continue;
    }
    if (!RTE_MBUF_DIRECT(mb) || rte_mbuf_refcnt_read(mb) != 1) {
      // The stack answers in place; a buffer someone else also references (an
      // external or shared one) is copied first so that is never written to.
      // (A TSO frame into a large buffer: one buffer, as the receive path needs.)
      rte_mempool* into = port_.large_pool() && mb->pkt_len > RTE_MBUF_DEFAULT_DATAROOM
                              ? port_.large_pool()
                              : port_.pool();
      rte_mbuf* copy = rte_pktmbuf_copy(mb, into, 0, UINT32_MAX);
      rte_pktmbuf_free(mb);
      if (!copy) {
        ++stats_.alloc_failed;
        continue;
      }
      ++stats_.rx_copied;
      mb = copy;
    }
    stack::Packet& p = pkts[k++];
    p.data = rte_pktmbuf_mtod(mb, uint8_t*);
    p.len = mb->data_len;
    // The headers, and a short frame's payload: the TCP options begin on the
    // second line and an rr request's payload ends on the third.
    for (uint32_t off = 0; off < std::min<uint32_t>(p.len, 192); off += 64) rte_prefetch0(p.data + off);
    p.room = uint32_t(mb->buf_len - mb->data_off);
    p.handle = mb;
    p.l2_len = p.l3_len = 0;
    p.seg_size = 0;
    uint32_t f = 0;
    const uint64_t ol = mb->ol_flags;
    const uint64_t ip = ol & RTE_MBUF_F_RX_IP_CKSUM_MASK, l4 = ol & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD) f |= stack::pktflag::rx_ip_csum_good;
    if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD) f |= stack::pktflag::rx_ip_csum_bad;
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD) f |= stack::pktflag::rx_l4_csum_good;
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) f |= stack::pktflag::rx_l4_csum_bad;
    if (port_.caps().in_process) {
      // The sender's offload requests travel with the buffer: what it left
      // for the device to fill was never exposed to a wire.
      if (ol & RTE_MBUF_F_TX_IP_CKSUM) f |= stack::pktflag::rx_ip_csum_good;
      const uint64_t l4req = ol & RTE_MBUF_F_TX_L4_MASK;
      if (l4req == RTE_MBUF_F_TX_TCP_CKSUM || l4req == RTE_MBUF_F_TX_UDP_CKSUM)
        f |= stack::pktflag::rx_l4_csum_good;
      // A TSO frame passed on whole (as Linux's veth passes a GSO packet).
      if ((ol & RTE_MBUF_F_TX_TCP_SEG) && mb->tso_segsz) {
        f |= stack::pktflag::rx_tcp_merged;
        p.seg_size = uint16_t(mb->tso_segsz);
      }
    }
    p.flags = uint16_t(f);
    if (cap_) capture(mb);
    ++stats_.rx_packets;
    stats_.rx_bytes += p.len;
  }
  return k;
}

bool PortDevice::alloc(stack::Packet& p, uint32_t len) {
  // A TSO frame's buffer: none free is no loss (the stack sends the frame's
  // segments in small buffers instead, counted as tx_tso_cut).
  rte_mempool* large = port_.large_pool();
  if (large && len > RTE_MBUF_DEFAULT_DATAROOM) return alloc_from(large, p, false);
  return alloc(p);
}

bool PortDevice::alloc(stack::Packet& p) {
  if (stash_count_) {
    rte_mbuf* mb = stash_[--stash_count_];
    rte_pktmbuf_reset(mb);  // as rte_pktmbuf_alloc leaves a buffer
    ++stats_.tx_recycled;
    as_packet(mb, p);
    return true;
  }
  return alloc_from(port_.pool(), p, true);
}

void PortDevice::as_packet(rte_mbuf* mb, stack::Packet& p) {
  p = stack::Packet{};
  p.data = rte_pktmbuf_mtod(mb, uint8_t*);
  p.room = uint32_t(mb->buf_len - mb->data_off);
  p.handle = mb;
}

bool PortDevice::alloc_from(rte_mempool* pool, stack::Packet& p, bool count_failure) {
  rte_mbuf* mb = rte_pktmbuf_alloc(pool);
  if (!mb) {
    if (count_failure) ++stats_.alloc_failed;
    return false;
  }
  as_packet(mb, p);
  return true;
}

void PortDevice::free(stack::Packet& p) {
  auto* mb = static_cast<rte_mbuf*>(p.handle);
  p.handle = nullptr;
  // Kept for this core's next transmission: a plain buffer (direct, one
  // segment, ours alone) of the regular pool's size, whichever port's pool it
  // came from (the other end of a link gets it back, and frees it into that
  // pool or sends with it in turn). The large pool's, for TSO, go back.
  if (stash_count_ < kStash && RTE_MBUF_DIRECT(mb) && mb->nb_segs == 1 &&
      rte_mbuf_refcnt_read(mb) == 1 && mb->buf_len == stash_room_) {
    stash_[stash_count_++] = mb;
    return;
  }
  rte_pktmbuf_free(mb);
}

void PortDevice::send(stack::Packet& p) {
  auto* mb = static_cast<rte_mbuf*>(p.handle);
  // The stack may have moved the frame's start within the buffer.
  mb->data_off = uint16_t(p.data - static_cast<uint8_t*>(mb->buf_addr));
  mb->data_len = uint16_t(p.len);
  mb->pkt_len = p.len;
  mb->nb_segs = 1;
  mb->next = nullptr;
  uint64_t ol = 0;
  if (p.flags & stack::pktflag::tx_ip_csum) ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
  if (p.flags & stack::pktflag::tx_tcp_csum) ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
  if (p.flags & stack::pktflag::tx_udp_csum) ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
  // TSO: the device cuts the frame into segments of tso_segsz bytes (the
  // in-process ring port passes it on whole; its receiver reads tso_segsz
  // back). The stack left the pseudo-header sum without the length in the
  // checksum field, as DPDK asks.
  const bool tso = p.flags & stack::pktflag::tx_tcp_seg;
  if (tso) ol |= RTE_MBUF_F_TX_TCP_SEG;
  // Keep the bits that say who owns the buffer; replace only the offload requests.
  mb->ol_flags = (mb->ol_flags & (RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT)) | ol;
  // The lengths as one 64-bit store: setting the bit-fields one by one reads
  // the word back after each narrow store (a stalled load on the send path,
  // seen with perf in `demo --mode cps`; docs/performance.md, "Stalls found
  // with perf").
  const uint64_t l4_len = tso ? uint64_t(p.data[p.l2_len + p.l3_len + 12] >> 4) * 4 : 0;
  mb->tx_offload = rte_mbuf_tx_offload(p.l2_len, p.l3_len, l4_len, tso ? p.seg_size : 0, 0, 0, 0);
  stats_.tx_bytes += p.len;
  tx_[tx_count_++] = mb;
  if (tx_count_ >= tx_batch_) transmit();
}

void PortDevice::flush(uint64_t now) {
  now_ = now;
  if (tx_count_) transmit();
}

void PortDevice::transmit() {
  // Captured before the driver owns them (it may free a buffer as soon as
  // it is sent): a frame then dropped at a full ring is in the capture too.
  if (cap_)
    for (uint16_t i = 0; i < tx_count_; ++i) capture(tx_[i]);
  if (prepare_) {
    // Frames the driver refuses (an offload request it cannot carry out) are
    // dropped and counted, the rest sent in order.
    uint16_t kept = 0;
    for (uint16_t i = 0; i < tx_count_;) {
      const uint16_t ok = rte_eth_tx_prepare(port_.id(), queue_, tx_ + i, uint16_t(tx_count_ - i));
      if (kept != i) std::memmove(tx_ + kept, tx_ + i, ok * sizeof(rte_mbuf*));
      kept = uint16_t(kept + ok);
      i = uint16_t(i + ok);
      if (i < tx_count_) {
        stats_.tx_bytes -= tx_[i]->pkt_len;
        rte_pktmbuf_free(tx_[i++]);
        ++stats_.tx_prepare_refused;
      }
    }
    tx_count_ = kept;
    if (!tx_count_) return;
  }
  uint16_t done = 0;
  ++stats_.tx_bursts;
  // A full transmit ring usually drains within microseconds; try a few times
  // before dropping, and count what had to be dropped.
  for (int attempt = 0; attempt < 64 && done < tx_count_; ++attempt)
    done += rte_eth_tx_burst(port_.id(), queue_, tx_ + done, uint16_t(tx_count_ - done));
  stats_.tx_packets += done;
  for (uint16_t i = done; i < tx_count_; ++i) {
    stats_.tx_bytes -= tx_[i]->pkt_len;
    rte_pktmbuf_free(tx_[i]);
    ++stats_.tx_ring_full;
  }
  tx_count_ = 0;
}

uint16_t tx_batch_default(const std::string& driver) {
  return driver == "net_ring" || driver == "net_memif" ? 8 : PortConfig::kMaxTxBatch;
}

uint16_t ring_queue_stride(uint16_t queues) {
  // Four queues apart put each used queue's counters on a line of their own
  // (4 x 24 bytes); fewer apart when that many queues do not fit.
  constexpr uint16_t kMaxQueues = RTE_PMD_RING_MAX_RX_RINGS;
  return uint16_t(std::clamp(kMaxQueues / std::max<uint16_t>(queues, 1), 1, 4));
}

std::pair<uint16_t, uint16_t> create_ring_pair(const std::string& name, uint16_t queues) {
  const int socket = int(rte_socket_id());
  const unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ;
  const uint16_t stride = ring_queue_stride(queues);
  // The device's queues: queue q's rings at q * stride, and repeated in the
  // unused queues after it (never polled, so never touched).
  std::vector<rte_ring*> ab(size_t(queues) * stride), ba(size_t(queues) * stride);
  for (uint16_t q = 0; q < queues; ++q) {
    const std::string n = name + "_" + std::to_string(q);
    rte_ring* to_b = rte_ring_create((n + "ab").c_str(), 4096, socket, flags);
    rte_ring* to_a = rte_ring_create((n + "ba").c_str(), 4096, socket, flags);
    if (!to_b || !to_a)
      throw std::runtime_error("ring port: cannot create rings: " + std::string(rte_strerror(rte_errno)));
    for (uint16_t j = 0; j < stride; ++j) {
      ab[size_t(q) * stride + j] = to_b;
      ba[size_t(q) * stride + j] = to_a;
    }
  }
  const unsigned n = unsigned(ab.size());
  const int a = rte_eth_from_rings((name + "_a").c_str(), ba.data(), n, ab.data(), n,
                                   unsigned(socket));
  const int b = rte_eth_from_rings((name + "_b").c_str(), ab.data(), n, ba.data(), n,
                                   unsigned(socket));
  if (a < 0 || b < 0)
    throw std::runtime_error("ring port: cannot create the port pair: " +
                             std::string(rte_strerror(rte_errno)));
  return {uint16_t(a), uint16_t(b)};
}

uint16_t port_by_name(const std::string& name, const std::string& spec_text) {
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0)
    throw std::runtime_error("--port " + spec_text + ": the DPDK driver could not open it (" +
                             name + "; its messages are above)");
  return id;
}

}  // namespace ts::glue
