// Applications for simulated hosts: a bulk sender that writes a deterministic
// byte pattern and closes, and a receiver that checks every byte of it, reads
// as fast as data comes or at a set rate, and closes when the sender has.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/sim.hh"
#include "tcp/connection.hh"

namespace ts::sim {

// The pattern of a flow: the byte at stream offset i. Both ends derive the
// seed from the sender's address and port.
uint64_t flow_seed(wire::Ipv4Addr sender, uint16_t sender_port);
void fill_pattern(uint64_t seed, uint64_t offset, uint8_t* out, size_t n);
// Offset of the first byte that differs from the pattern, or n if none does.
size_t check_pattern(uint64_t seed, uint64_t offset, const uint8_t* in, size_t n);

// The lab's cheaper pattern (copied and compared, not computed): the first
// kPeriod bytes of a flow's pattern, repeated. A prime period that is no
// multiple of any segment size; only a byte displaced by a multiple of it
// would pass (the scenarios keep the full pattern).
inline constexpr size_t kPeriod = 65521;
std::vector<uint8_t> pattern_block(uint64_t seed);

class BulkSender final : public tcp::Events {
 public:
  BulkSender(Simulator& sim, Host& host, uint64_t bytes, bool periodic = false);
  bool start(wire::Ipv4Addr dst, uint16_t port, const tcp::TcpConfig* cfg = nullptr);

  void on_connected(tcp::Connection& c) override { pump(c); }
  void on_writable(tcp::Connection& c) override { pump(c); }
  void on_readable(tcp::Connection& c) override;
  void on_peer_closed(tcp::Connection& c) override;
  void on_closed(tcp::Connection& c, tcp::CloseReason r) override;

  bool closed() const { return closed_; }
  bool peer_closed() const { return peer_closed_; }
  tcp::CloseReason reason() const { return reason_; }
  uint64_t sent() const { return sent_; }
  uint64_t started_at() const { return started_at_; }
  tcp::Connection* connection() const { return conn_; }
  // What the connection knew when it ended (or now, if it has not).
  uint64_t retransmitted_bytes() const;

 private:
  void pump(tcp::Connection& c);

  Simulator& sim_;
  Host& host_;
  uint64_t bytes_, sent_ = 0, seed_ = 0;
  uint64_t started_at_ = 0;
  uint64_t final_retransmitted_ = 0;
  tcp::Connection* conn_ = nullptr;
  bool shut_ = false, closed_ = false, peer_closed_ = false;
  tcp::CloseReason reason_ = tcp::CloseReason::normal;
  std::vector<uint8_t> chunk_;
  bool periodic_;
  std::vector<uint8_t> block_;  // periodic: pattern_block(seed_)
};

class BulkReceiver final : public stack::Acceptor, public tcp::Events {
 public:
  struct Flow {
    uint64_t seed = 0;
    uint64_t received = 0;
    bool corrupt = false;
    bool fin = false;     // the sender's FIN arrived after all its data
    bool closed = false;
    tcp::CloseReason reason = tcp::CloseReason::normal;
    uint64_t fin_at = 0, closed_at = 0;
    tcp::Connection* conn = nullptr;
    bool read_scheduled = false;
    uint64_t tick = UINT64_MAX, allowance = 0;
    std::vector<uint8_t> block;  // the periodic pattern's block
  };

  // A slow application reads at most `chunk` bytes every `period_ns` (all of
  // it, as it arrives, when period_ns is 0).
  BulkReceiver(Simulator& sim, Host& host, uint64_t chunk = 0, uint64_t period_ns = 0,
               bool periodic = false);

  tcp::Events* on_accept(const tcp::FourTuple& t) override;
  void on_readable(tcp::Connection& c) override { read(c); }
  void on_peer_closed(tcp::Connection& c) override;
  void on_closed(tcp::Connection& c, tcp::CloseReason r) override;

  const std::vector<Flow>& flows() const { return flows_; }

 private:
  Flow* flow_of(tcp::Connection& c);
  void read(tcp::Connection& c);
  void schedule_read(size_t flow);

  Simulator& sim_;
  Host& host_;
  uint64_t chunk_, period_;
  bool periodic_;
  std::vector<Flow> flows_;
};

}  // namespace ts::sim
