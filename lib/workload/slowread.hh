// slowread: the attack of seed 000 as a load. --conns connections (opened at
// the pace of a HandshakeWindow) each ask
// for data (an HTTP GET of --path when one is given, else --req-size bytes,
// for an echo server) and then read nothing, so that their receive windows
// close and the target holds the rest in zero-window persist, or read
// --read-rate bytes a second, opening the window by a byte at a time
// (receiver silly-window avoidance off). They are held for the run's
// duration; what is counted is how the target treats them: how many it
// kept, how many it closed or reset, and how long after they were
// established (the latency histogram). For testing servers' defences; only
// ever aim it at hosts of your own.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stack/tcp_layer.hh"
#include "workload/handshake_window.hh"
#include "workload/workload.hh"

namespace ts::workload {

class SlowRead final : public Workload, public tcp::Events {
 public:
  static constexpr uint32_t kRcvbuf = 4096;  // a small window that closes soon

  SlowRead(stack::TcpLayer& tcp, const GenConfig& cfg);

  void start(uint64_t now) override;
  void tick(uint64_t now) override;
  void stop() override { stopped_ = true; }
  void close_all(uint64_t now) override;
  bool done() const override { return false; }  // held for the run's duration
  uint64_t next_deadline() const override;
  uint64_t drain_ns() const override { return 0; }
  const GenStats& stats() const override { return stats_; }
  util::Histogram take_interval() override;
  void clear_latency() override { stats_.latency = util::Histogram(); }
  const GenConfig& config() const override { return cfg_; }

  void on_connected(tcp::Connection& c) override;
  void on_readable(tcp::Connection&) override {}  // read on our own schedule
  void on_peer_closed(tcp::Connection& c) override;
  void on_closed(tcp::Connection& c, tcp::CloseReason r) override;

 private:
  struct Conn {
    tcp::Connection* conn = nullptr;
    uint64_t open_seq = 0;  // for the handshake window
    uint64_t established = 0;
    bool ended = false;  // the target closed or reset it (or it failed)
  };
  void ended(Conn& k, uint64_t now);

  stack::TcpLayer& tcp_;
  GenConfig cfg_;
  tcp::TcpConfig conn_cfg_;    // small receive buffer, no receiver SWS avoidance
  std::string request_;        // an HTTP GET, or empty for --req-size pattern bytes
  std::vector<uint8_t> pattern_;
  std::vector<Conn> conns_;    // by connection tag
  GenStats stats_;
  util::Histogram interval_;
  uint32_t to_open_ = 0;
  HandshakeWindow handshakes_;
  uint64_t next_read_ = 0;
  bool stopped_ = false;
  uint64_t now_ = 0;
};

}  // namespace ts::workload
