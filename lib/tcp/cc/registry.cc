#include "tcp/cc/registry.hh"

namespace ts::tcp {

namespace {

const CcInfo kAlgorithms[] = {
    {CcAlgo::tahoe, "tahoe",
     "slow start, congestion avoidance, fast retransmit; every loss restarts from one segment "
     "(no fast recovery, SACK or not)",
     RecoveryStyle::tahoe, false},
    {CcAlgo::reno, "reno",
     "RFC 5681 fast recovery, ended by the first new ACK (without SACK); halves once per loss",
     RecoveryStyle::reno, true},
    {CcAlgo::newreno, "newreno",
     "RFC 6582: recovery goes on through partial ACKs until all of the window is repaired",
     RecoveryStyle::newreno, true},
    {CcAlgo::cubic, "cubic",
     "RFC 9438: window a cubic function of the time since the last loss, with a Reno-friendly "
     "floor (the default)",
     RecoveryStyle::newreno, true},
    {CcAlgo::vegas, "vegas",
     "Brakmo and Peterson: once per round trip, grow or shrink by a segment to keep 2 to 4 "
     "segments queued at the bottleneck; Reno's response to loss",
     RecoveryStyle::newreno, true},
    {CcAlgo::compound, "compound",
     "Compound TCP (Tan et al. 2006): Reno's window plus a delay-based window that grows "
     "fast while no queue builds and gives way as one does",
     RecoveryStyle::newreno, true},
    {CcAlgo::bbr, "bbr",
     "BBR v3 (IETF ccwg draft): a model of bottleneck bandwidth and minimum RTT from "
     "delivery-rate samples, paced at the estimated bandwidth",
     RecoveryStyle::newreno, true},
};

}  // namespace

std::span<const CcInfo> cc_algorithms() { return kAlgorithms; }

const CcInfo& cc_info(CcAlgo a) {
  for (const CcInfo& i : kAlgorithms)
    if (i.algo == a) return i;
  return kAlgorithms[3];  // cubic
}

const char* cc_name(CcAlgo a) { return cc_info(a).name; }

const CcInfo* find_cc(std::string_view name) {
  for (const CcInfo& i : kAlgorithms)
    if (name == i.name) return &i;
  return nullptr;
}

std::string cc_names() {
  std::string s;
  for (const CcInfo& i : kAlgorithms) s += (s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

RecoveryStyle recovery_for(const TcpConfig& cfg, bool sack_negotiated) {
  if (cfg.recovery != RecoveryStyle::sack) return cfg.recovery;  // as given
  const CcInfo& i = cc_info(cfg.cc);
  return sack_negotiated && i.sack_recovery ? RecoveryStyle::sack : i.classic;
}

}  // namespace ts::tcp
