#include "sim/scenario.hh"

#include <functional>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "sim/apps.hh"

namespace ts::sim {

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

LinkParams link(double mbps, double one_way_ms, uint32_t queue) {
  LinkParams p;
  p.rate_bps = mbps * 1e6;
  p.delay_ns = uint64_t(one_way_ms * 1e6);
  p.queue_packets = queue;
  return p;
}

// Roughly a bandwidth-delay product of full-sized frames.
uint32_t bdp_packets(double mbps, double rtt_ms) {
  return uint32_t(mbps * 1e6 * rtt_ms / 1e3 / 8 / 1514) + 1;
}

// Completion bounds per congestion-control algorithm, in ms: about 1.3 times
// the slowest of seeds 1-200 (the nightly suite's) when they were set (Reno
// and Tahoe: 1.5 times the slowest of seeds 1-60, and Reno never below
// NewReno, whose code it runs with SACK; Vegas, Compound and BBR: 1.5 times
// the slowest of seeds 1-40), so a run that takes longer is a regression of
// that algorithm on that path, not noise. A new algorithm gets its own
// column: NewReno, CUBIC, Reno, Tahoe, Vegas, Compound, BBR. --no-sack and
// --pacing runs keep them.
struct Bounds {
  uint32_t newreno_ms, cubic_ms, reno_ms, tahoe_ms, vegas_ms, compound_ms, bbr_ms;
  uint64_t of(tcp::CcAlgo cc) const {
    switch (cc) {
      case tcp::CcAlgo::newreno: return uint64_t(newreno_ms) * kMs;
      case tcp::CcAlgo::cubic: return uint64_t(cubic_ms) * kMs;
      case tcp::CcAlgo::reno: return uint64_t(reno_ms) * kMs;
      case tcp::CcAlgo::tahoe: return uint64_t(tahoe_ms) * kMs;
      case tcp::CcAlgo::vegas: return uint64_t(vegas_ms) * kMs;
      case tcp::CcAlgo::compound: return uint64_t(compound_ms) * kMs;
      case tcp::CcAlgo::bbr: return uint64_t(bbr_ms) * kMs;
    }
    return 0;
  }
};

struct Preset {
  const char* name;
  const char* description;
  void (*make)(Scenario&);
  Bounds bounds;
};

// A 100 Mbit/s path with a 10 ms round trip and a queue of about one BDP
// carries the robustness scenarios; each adds one kind of trouble.
void path100(Scenario& s) {
  s.forward = s.reverse = link(100, 5, 128);
  s.bytes = 2 << 20;
}

const Preset kPresets[] = {
    {"clean", "100 Mbit/s, 10 ms RTT", [](Scenario& s) { path100(s); }, {300, 300, 340, 790, 350, 350, 350}},
    {"loss1", "the clean path with 1% random loss both ways",
     [](Scenario& s) {
       path100(s);
       s.forward.loss.bernoulli = s.reverse.loss.bernoulli = 0.01;
     }, {4000, 3200, 4000, 5100, 3400, 3550, 2450}},
    {"loss5", "the clean path with 5% random loss both ways",
     [](Scenario& s) {
       path100(s);
       s.forward.loss.bernoulli = s.reverse.loss.bernoulli = 0.05;
     }, {38000, 25000, 38000, 34000, 13250, 18450, 6650}},
    {"bursty", "Gilbert-Elliott loss (bursts averaging about 1%) both ways",
     [](Scenario& s) {
       path100(s);
       for (LinkParams* l : {&s.forward, &s.reverse}) {
         l->loss.gilbert = true;
         l->loss.p_good_bad = 0.005;
         l->loss.p_bad_good = 0.25;
         l->loss.loss_bad = 0.5;
       }
     }, {6500, 16000, 6500, 20000, 1600, 1950, 1150}},
    {"reorder", "5% of packets held back 2 ms (reordered) both ways",
     [](Scenario& s) {
       path100(s);
       for (LinkParams* l : {&s.forward, &s.reverse}) {
         l->reorder = 0.05;
         l->reorder_delay_ns = 2 * kMs;
       }
     }, {3200, 2500, 3400, 3300, 3500, 3600, 2150}},
    {"duplicate", "2% of packets duplicated both ways",
     [](Scenario& s) {
       path100(s);
       s.forward.duplicate = s.reverse.duplicate = 0.02;
     }, {400, 350, 400, 790, 500, 350, 350}},
    {"corrupt", "1% of packets with a flipped bit both ways (checksums must catch them)",
     [](Scenario& s) {
       path100(s);
       s.forward.corrupt = s.reverse.corrupt = 0.01;
     }, {3000, 2400, 3000, 4600, 2400, 3000, 1300}},
    {"slow-reader",
     "a receiver reading 22 segments every 400 ms through a 45-segment buffer, with 5% loss on "
     "the ACK path: long zero windows, persist probes, lost window updates",
     [](Scenario& s) {
       path100(s);
       s.bytes = 512 * 1024;
       s.tcp.rcvbuf = 45 * 1448;  // whole segments, so the window closes to exactly zero
       s.read_chunk = 22 * 1448;
       s.read_period_ns = 400 * kMs;
       s.reverse.loss.bernoulli = 0.05;
     }, {12500, 12500, 12500, 12500, 10050, 10050, 10050}},
    {"lfn", "a long fat path: 1 Gbit/s, 100 ms RTT (needs window scaling)",
     [](Scenario& s) {
       s.forward = s.reverse = link(1000, 50, bdp_packets(1000, 100));
       s.bytes = 64ull << 20;
       s.tcp.sndbuf = s.tcp.rcvbuf = 32u << 20;
       s.buffers = 40000;
     }, {2300, 2300, 2600, 6000, 3550, 2600, 2900}},
    {"gigabit", "1 Gbit/s, 10 ms RTT, queue of one BDP",
     [](Scenario& s) {
       s.forward = s.reverse = link(1000, 5, bdp_packets(1000, 10));
       s.bytes = 100ull << 20;
       s.tcp.sndbuf = s.tcp.rcvbuf = 4u << 20;
       s.buffers = 8192;
     }, {1250, 1250, 1450, 5300, 2900, 1450, 1550}},
    {"dumbbell", "4 flows sharing a 100 Mbit/s, 10 ms RTT bottleneck",
     [](Scenario& s) {
       path100(s);
       s.flows = 4;
       s.access = link(1000, 0.5, 1000);
     }, {1000, 1000, 1150, 1550, 1150, 1150, 1200}},
};

}  // namespace

std::vector<std::string> scenario_names() {
  std::vector<std::string> v;
  for (const Preset& p : kPresets) v.push_back(p.name);
  return v;
}

std::optional<Scenario> make_scenario(std::string_view name, tcp::CcAlgo cc) {
  for (const Preset& p : kPresets) {
    if (name != p.name) continue;
    Scenario s;
    s.name = p.name;
    s.description = p.description;
    s.tcp.cc = cc;
    s.tcp.msl_ns = kSec;  // TIME-WAIT of 2 s keeps runs short
    s.tcp.sndbuf = s.tcp.rcvbuf = 1u << 20;
    p.make(s);
    s.bound_ns = p.bounds.of(cc);
    return s;
  }
  return std::nullopt;
}

void set_bytes(Scenario& s, uint64_t bytes) {
  s.bytes_overridden = true;
  if (bytes > s.bytes)
    s.bound_ns = uint64_t(double(s.bound_ns) * double(bytes) / double(s.bytes));
  s.bytes = bytes;
}

void set_pacing(Scenario& s) {
  if (s.tcp.pacing) return;
  s.tcp.pacing = true;
  s.bound_ns += s.bound_ns / 2;
}

double Result::goodput_bps() const {
  return completion_ns ? double(bytes) * double(flows.size()) * 8e9 / double(completion_ns) : 0;
}

double Result::utilization() const {
  return completion_ns ? double(forward.busy_ns) / double(completion_ns) : 0;
}

std::string Result::repro() const {
  return "touchstone sim --scenario " + scenario + " --cc " + tcp::cc_name(cc) +
         (sack ? "" : " --no-sack") + (pacing ? " --pacing" : "") + " --seed " + std::to_string(seed) +
         (bytes_overridden ? " --bytes " + std::to_string(bytes) : "");
}

std::string Result::summary() const {
  char steady[96] = "no flow left slow start and recovery before the end";
  if (steady_from_ns)
    std::snprintf(steady, sizeof steady, "%.1f%% from %.0f ms, when congestion avoidance began",
                  steady_utilization * 100, double(steady_from_ns) / 1e6);
  char buf[1200];
  uint64_t retx = 0, delivered = 0;
  for (const auto& f : flows) {
    retx += f.retransmitted_bytes;
    delivered += f.delivered;
  }
  char done[160];
  if (completion_ns && ok())
    std::snprintf(done, sizeof done, "completed in %.1f ms (bound %.0f ms)",
                  double(completion_ns) / 1e6, double(bound_ns) / 1e6);
  else if (completion_ns)
    std::snprintf(done, sizeof done, "the slowest completed in %.1f ms (bound %.0f ms)",
                  double(completion_ns) / 1e6, double(bound_ns) / 1e6);
  else
    std::snprintf(done, sizeof done, "not completed: %llu of %llu bytes delivered (bound %.0f ms)",
                  (unsigned long long)delivered,
                  (unsigned long long)(bytes * std::max<size_t>(flows.size(), 1)),
                  double(bound_ns) / 1e6);
  char rate[160] = "goodput -";
  if (completion_ns)
    std::snprintf(rate, sizeof rate, "goodput %.1f Mbit/s, data link busy %.1f%% of the time",
                  goodput_bps() / 1e6, utilization() * 100);
  std::snprintf(
      buf, sizeof buf,
      "scenario %s, %s, seed %llu: %s\n"
      "  %zu flow(s) of %llu bytes, %s\n"
      "  %s (%s)\n"
      "  data link: %llu packets, %llu lost, %llu queue drops, %llu corrupted, %llu duplicated, "
      "%llu reordered, max queue %u\n"
      "  retransmitted %llu bytes for %llu payload bytes lost; %llu timeouts, %llu fast "
      "recoveries, %llu window probes\n"
      "  simulated %.3f s in %.3f s of wall time (%llu events)",
      scenario.c_str(), tcp::cc_name(cc), (unsigned long long)seed,
      ok() ? "ok" : ("FAILED: " + failure).c_str(), flows.size(), (unsigned long long)bytes, done,
      rate, steady,
      (unsigned long long)forward.sent, (unsigned long long)forward.lost,
      (unsigned long long)forward.queue_drops, (unsigned long long)forward.corrupted,
      (unsigned long long)forward.duplicated, (unsigned long long)forward.reordered,
      forward.max_queue, (unsigned long long)retx, (unsigned long long)forward.lost_payload,
      (unsigned long long)sender.tcp_rto_timeouts, (unsigned long long)sender.tcp_fast_recoveries,
      (unsigned long long)sender.tcp_window_probes, double(sim_ns) / 1e9, wall_s,
      (unsigned long long)events);
  return buf;
}

Result run_scenario(const Scenario& sc, uint64_t seed, LinkTrace* trace,
                    const std::function<void(uint64_t, uint64_t)>& progress) {
  Result r;
  r.bytes_overridden = sc.bytes_overridden;
  r.scenario = sc.name;
  r.seed = seed;
  r.cc = sc.tcp.cc;
  r.sack = sc.tcp.sack;
  r.pacing = sc.tcp.pacing;
  r.bytes = sc.bytes;
  r.bound_ns = sc.bound_ns;
  r.link_rate_bps = sc.forward.rate_bps;
  // Wall time only measures the simulator's own speed; the run never reads it.
  const auto wall0 = std::chrono::steady_clock::now();

  Network net(seed, sc.buffers);
  stack::StackConfig base;
  base.tcp.tcp = sc.tcp;
  base.tcp.max_connections = 64;
  std::vector<Host*> senders, receivers;
  Link *fwd, *rev;
  if (sc.flows <= 1) {
    Host& a = net.add_host("sender", *wire::Ipv4Cidr::parse("10.0.0.1/24"), base);
    Host& b = net.add_host("receiver", *wire::Ipv4Cidr::parse("10.0.0.2/24"), base);
    std::tie(fwd, rev) = net.connect(a, b, sc.forward, sc.reverse);
    senders.push_back(&a);
    receivers.push_back(&b);
  } else {
    Switch& left = net.add_switch();
    Switch& right = net.add_switch();
    std::tie(fwd, rev) = net.connect(left, right, sc.forward, sc.reverse);
    for (uint32_t i = 0; i < sc.flows; ++i) {
      const auto octet = std::to_string(i + 1);
      Host& snd = net.add_host("sender" + octet, *wire::Ipv4Cidr::parse("10.0.1." + octet + "/16"), base);
      Host& rcv = net.add_host("receiver" + octet, *wire::Ipv4Cidr::parse("10.0.2." + octet + "/16"), base);
      net.connect(snd, left, sc.access, sc.access);
      net.connect(rcv, right, sc.access, sc.access);
      senders.push_back(&snd);
      receivers.push_back(&rcv);
    }
  }
  net.finish();
  net.set_trace(trace);

  std::vector<std::unique_ptr<BulkReceiver>> rx;
  std::vector<std::unique_ptr<BulkSender>> tx;
  for (Host* h : receivers) {
    rx.push_back(std::make_unique<BulkReceiver>(net.sim(), *h, sc.read_chunk, sc.read_period_ns));
    h->stack().tcp().listen(5001, rx.back().get());
  }
  for (size_t i = 0; i < senders.size(); ++i) {
    tx.push_back(std::make_unique<BulkSender>(net.sim(), *senders[i], sc.bytes));
    tx.back()->start(receivers[i]->ip(), 5001);
  }
  auto done = [&] {
    for (size_t i = 0; i < tx.size(); ++i) {
      const auto& flows = rx[i]->flows();
      if (flows.empty() || !flows[0].closed || !tx[i]->peer_closed()) return false;
    }
    return true;
  };
  const uint64_t limit = sc.bound_ns * 3 + 10 * kSec;
  // Run in 1 ms steps to notice when every sender reaches congestion avoidance.
  auto steady = [&] {
    for (const auto& t : tx) {
      const tcp::Connection* c = t->connection();
      if (!c || c->state() != tcp::State::established || c->in_recovery() ||
          c->cwnd() < c->ssthresh())
        return false;
    }
    return true;
  };
  bool finished = false;
  uint64_t busy_at_steady = 0;
  while (!(finished = done())) {
    const uint64_t next = net.sim().now() + kMs;
    if (next > limit) break;
    net.sim().run_until_done(done, next);
    if (progress && next % kSec == 0) {
      uint64_t delivered = 0;
      for (const auto& rcv : rx)
        for (const auto& f : rcv->flows()) delivered += f.received;
      progress(next, delivered);
    }
    if (!r.steady_from_ns && steady()) {
      r.steady_from_ns = net.sim().now();
      busy_at_steady = fwd->stats().busy_ns;
    }
  }
  if (finished && r.steady_from_ns) {
    // The data link last carried data when the last FIN was delivered.
    uint64_t end = 0;
    for (const auto& rcv : rx)
      for (const auto& f : rcv->flows()) end = std::max(end, f.fin_at);
    r.steady_to_ns = end;
    if (end > r.steady_from_ns)
      r.steady_utilization =
          std::min(1.0, double(fwd->stats().busy_ns - busy_at_steady) / double(end - r.steady_from_ns));
  }
  // Let the senders' TIME-WAIT run out, so that their end is seen too.
  if (finished) net.sim().run_until(net.sim().now() + 2 * sc.tcp.msl_ns + kSec);

  for (size_t i = 0; i < tx.size(); ++i) {
    FlowResult f;
    const BulkSender& snd = *tx[i];
    f.retransmitted_bytes = snd.retransmitted_bytes();
    f.sender_end = snd.closed() ? std::string("closed (") + tcp::reason_name(snd.reason()) + ")"
                   : snd.connection() ? tcp::state_name(snd.connection()->state())
                                      : "never opened";
    if (!rx[i]->flows().empty()) {
      const auto& fl = rx[i]->flows()[0];
      f.delivered = fl.received;
      f.corrupt = fl.corrupt;
      f.completion_ns = fl.fin ? fl.fin_at - snd.started_at() : 0;
      f.receiver_end = fl.closed ? std::string("closed (") + tcp::reason_name(fl.reason) + ")"
                       : fl.conn ? tcp::state_name(fl.conn->state())
                                 : "?";
      f.orderly = fl.closed && fl.reason == tcp::CloseReason::normal && snd.peer_closed() &&
                  snd.closed() && snd.reason() == tcp::CloseReason::normal;
    } else {
      f.receiver_end = "no connection arrived";
    }
    r.completion_ns = std::max(r.completion_ns, f.completion_ns);
    r.flows.push_back(f);
  }
  for (Host* h : senders) {
    const auto& c = h->stack().counters().tcp;
#define TS_X(name, drop, desc) r.sender.name += c.name;
    TS_TCP_COUNTERS(TS_X)
#undef TS_X
  }
  for (Host* h : receivers) {
    const auto& c = h->stack().counters().tcp;
#define TS_X(name, drop, desc) r.receiver.name += c.name;
    TS_TCP_COUNTERS(TS_X)
#undef TS_X
  }
  r.forward = fwd->stats();
  r.reverse = rev->stats();
  r.sim_ns = net.sim().now();
  r.events = net.sim().events_run();
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();

  for (size_t i = 0; i < r.flows.size() && r.failure.empty(); ++i) {
    const FlowResult& f = r.flows[i];
    const std::string which = "flow " + std::to_string(i) + ": ";
    if (f.corrupt)
      r.failure = which + "received bytes that differ from what was sent";
    else if (f.delivered != sc.bytes)
      r.failure = which + "delivered " + std::to_string(f.delivered) + " of " +
                  std::to_string(sc.bytes) + " bytes (sender " + f.sender_end + ", receiver " +
                  f.receiver_end + ")";
    else if (!f.orderly)
      r.failure = which + "no orderly close (sender " + f.sender_end + ", receiver " +
                  f.receiver_end + ")";
    else if (f.completion_ns > sc.bound_ns)
      r.failure = which + "took " + std::to_string(f.completion_ns / kMs) + " ms, bound " +
                  std::to_string(sc.bound_ns / kMs) + " ms";
  }
  if (r.failure.empty() && !finished) r.failure = "did not finish";
  return r;
}

}  // namespace ts::sim
