// cps: connections per second. Each request is rr's, on a connection of its
// own: connect, request, response, close, again (closed loop: --conns at a
// time; open loop: --rate connections per second). The latency of a request
// counts from its SYN (or from when it was due).
#include "workload/mode_rr.hh"

namespace ts::workload {

namespace {

class Cps final : public RrMode {
 public:
  using RrMode::RrMode;
  bool connection_per_request() const override { return true; }
};

}  // namespace

std::unique_ptr<TcpMode> make_cps_mode(const GenConfig& cfg) { return std::make_unique<Cps>(cfg); }

}  // namespace ts::workload
