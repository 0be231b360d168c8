#include "tcp/cc/congestion.hh"

#include <cstdlib>

namespace ts::tcp {

template <class T>
void Congestion::make() {
  static_assert(sizeof(T) <= kImplSize && alignof(T) <= 8);
  CongestionControl* a = new (impl_) T();
  // alg() finds the algorithm at the buffer's start: the base is the first
  // (and only) base of each algorithm, so it sits there; checked once here.
  if (static_cast<void*>(a) != static_cast<void*>(impl_)) std::abort();
  paces_ = a->sets_pacing_rate();
}

Congestion::Congestion(CcAlgo algo, bool hystart) : hystart_(hystart) {
  switch (algo) {
    case CcAlgo::newreno: make<NewReno>(); return;
    case CcAlgo::tahoe: make<Tahoe>(); return;
    case CcAlgo::reno: make<Reno>(); return;
    case CcAlgo::cubic: make<Cubic>(); return;
    case CcAlgo::vegas: make<Vegas>(); return;
    case CcAlgo::compound: make<Compound>(); return;
    case CcAlgo::bbr: make<OutOfLineBbr>(); return;
  }
  std::abort();  // not a CcAlgo: the configuration's parser accepts only those
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
