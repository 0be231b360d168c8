// cps: connections per second. Each request is rr's, on a connection of its
// own: connect, request, response, close, again (closed loop: --conns at a
// time; open loop: --rate connections per second). The latency of a request
// counts from its SYN (or from when it was due). By default the client's FIN
// rides on its request (a half-close: SYN, SYN-ACK, ACK with the request and
// the FIN, the response with the server's FIN, the last ACK: 5 segments);
// --cps-close response closes after reading the response instead (7).
#include "workload/mode_rr.hh"

namespace ts::workload {

namespace {

class Cps final : public RrMode {
 public:
  explicit Cps(const GenConfig& cfg) : RrMode(cfg), half_close_(cfg.cps_half_close) {}
  bool connection_per_request() const override { return true; }
  bool half_close_after_request() const override { return half_close_; }

 private:
  bool half_close_;
};

}  // namespace

std::unique_ptr<TcpMode> make_cps_mode(const GenConfig& cfg) { return std::make_unique<Cps>(cfg); }

}  // namespace ts::workload
