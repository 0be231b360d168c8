#include "tcp/cc/congestion.hh"

namespace ts::tcp {

Congestion::Congestion(CcAlgo algo, bool hystart) : hystart_(hystart) {
  switch (algo) {
    case CcAlgo::newreno: alg_ = &impl_.emplace<NewReno>(); break;
    case CcAlgo::tahoe: alg_ = &impl_.emplace<Tahoe>(); break;
    case CcAlgo::reno: alg_ = &impl_.emplace<Reno>(); break;
    case CcAlgo::cubic: alg_ = &impl_.emplace<Cubic>(); break;
    case CcAlgo::vegas: alg_ = &impl_.emplace<Vegas>(); break;
    case CcAlgo::compound: alg_ = &impl_.emplace<Compound>(); break;
    case CcAlgo::bbr:
      alg_ = impl_.emplace<std::unique_ptr<Bbr>>(std::make_unique<Bbr>()).get();
      break;
  }
}

void Congestion::start(uint32_t smss, uint32_t cwnd, uint32_t ssthresh) {
  s_.smss = smss;
  s_.cwnd = cwnd;
  s_.ssthresh = ssthresh;
  alg().init(s_);
}

void Congestion::on_congestion(CongestionSignal sig, uint32_t flight, uint64_t now) {
  hystart_.stop(s_);
  s_.flight = flight;
  alg().on_congestion(s_, sig, now);
}

}  // namespace ts::tcp
