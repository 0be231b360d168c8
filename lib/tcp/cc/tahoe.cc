#include "tcp/cc/tahoe.hh"

namespace ts::tcp {

void Tahoe::on_congestion(CcState& s, CongestionSignal sig, uint64_t now) {
  Aimd::on_congestion(s, sig, now);
  s.cwnd = s.smss;  // the loss window, whatever found the loss
}

}  // namespace ts::tcp
