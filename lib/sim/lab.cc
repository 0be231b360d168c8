#include "sim/lab.hh"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <memory>
#include <thread>

#include "sim/apps.hh"
#include "tcp/cc/registry.hh"

namespace ts::sim {

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;
constexpr double kMss = 1448;  // the payload of a full segment with timestamps

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// Drops at the bottleneck (full queue or AQM), by flow: the sender's address
// is 10.0.1.(flow + 1).
class DropLog final : public LinkTrace {
 public:
  struct Drop {
    uint64_t at;
    uint32_t flow;
  };
  void on_link(const std::string&, LinkEvent e, uint64_t at,
               std::span<const uint8_t> f) override {
    if (e != LinkEvent::queue_drop || f.size() < 34 || f[12] != 0x08 || f[13] != 0x00) return;
    if (f[28] != 1 || f[29] == 0) return;  // 10.0.1.x: a sender's data
    drops.push_back({at, uint32_t(f[29] - 1)});
  }
  std::vector<Drop> drops;
};

LinkParams fast_link(uint64_t delay_ns) {
  LinkParams p;
  p.rate_bps = 40e9;
  p.delay_ns = std::max<uint64_t>(delay_ns, 1000);
  p.queue_packets = 1u << 20;
  return p;
}

}  // namespace

void enable_trace(LabSetup& s) {
  s.trace_period_ns = std::max<uint64_t>({s.duration_ns / 1500, 2 * s.base_rtt_ns(), 10 * kMs});
}

uint64_t LabSetup::base_rtt_ns() const {
  const uint64_t extra = flows.empty() ? 0 : flows[0].extra_delay_ns;
  return 2 * (bottleneck.delay_ns + extra);
}

LabRun run_lab(const LabSetup& s, uint64_t seed) {
  LabRun r;
  const double cpu0 = thread_cpu_s();
  Network net(seed, s.buffers);
  net.set_checksum_offload(true);  // the lab has no corruption to catch
  stack::StackConfig base;
  base.tcp.tcp.sack = s.sack;
  base.tcp.tcp.pacing = s.pacing;
  base.tcp.tcp.sndbuf = s.sndbuf;
  base.tcp.tcp.rcvbuf = s.rcvbuf;
  base.tcp.tcp.msl_ns = kSec;
  base.tcp.max_connections = 16;
  Switch& left = net.add_switch();
  Switch& right = net.add_switch();
  LinkParams back = s.bottleneck;  // the ACK direction: the same path, clean, deep
  back.aqm = Aqm::droptail;
  back.queue_packets = 1u << 20;
  back.loss = {};
  auto [fwd, rev] = net.connect(left, right, s.bottleneck, back);
  (void)rev;
  const size_t n = s.flows.size();
  std::vector<Host*> senders, receivers;
  for (size_t i = 0; i < n; ++i) {
    const auto octet = std::to_string(i + 1);
    Host& snd = net.add_host("sender" + octet, *wire::Ipv4Cidr::parse("10.0.1." + octet + "/16"), base);
    Host& rcv = net.add_host("receiver" + octet, *wire::Ipv4Cidr::parse("10.0.2." + octet + "/16"), base);
    const LinkParams acc = fast_link(s.flows[i].extra_delay_ns);
    net.connect(snd, left, acc, acc);
    net.connect(rcv, right, fast_link(0), fast_link(0));
    senders.push_back(&snd);
    receivers.push_back(&rcv);
  }
  net.finish();
  DropLog drops;
  fwd->set_trace(&drops);

  std::vector<tcp::TcpConfig> cfgs(n, base.tcp.tcp);
  std::vector<std::unique_ptr<BulkReceiver>> rx;
  std::vector<std::unique_ptr<BulkSender>> tx;
  for (size_t i = 0; i < n; ++i) {
    cfgs[i].cc = s.flows[i].cc;
    // The periodic pattern: copied and compared rather than computed, a
    // fifth of a run's time saved (apps.hh).
    rx.push_back(std::make_unique<BulkReceiver>(net.sim(), *receivers[i], 0, 0, true));
    receivers[i]->stack().tcp().listen(5001, rx.back().get());
    tx.push_back(std::make_unique<BulkSender>(net.sim(), *senders[i], uint64_t(1) << 50, true));
    BulkSender* t = tx.back().get();
    const wire::Ipv4Addr dst = receivers[i]->ip();
    const tcp::TcpConfig* cfg = &cfgs[i];
    net.sim().call_at(s.flows[i].start_ns, [t, dst, cfg] { t->start(dst, 5001, cfg); });
  }
  auto received = [&](size_t i) -> uint64_t {
    return rx[i]->flows().empty() ? 0 : rx[i]->flows()[0].received;
  };

  std::vector<uint64_t> rx0(n, 0), rx_prev(n, 0);
  LinkStats at_measure;
  uint64_t retx0 = 0;
  const uint64_t step = s.trace_period_ns ? s.trace_period_ns : 10 * kMs;
  bool measured = false;
  for (uint64_t t = 0; t < s.duration_ns;) {
    const uint64_t next = std::min(t + step, s.duration_ns);
    if (!measured && s.measure_from_ns <= next) {
      net.sim().run_until(s.measure_from_ns);
      for (size_t i = 0; i < n; ++i) rx0[i] = received(i);
      at_measure = fwd->stats();
      for (auto& x : tx) retx0 += x->retransmitted_bytes();
      measured = true;
    }
    net.sim().run_until(next);
    if (s.trace_period_ns) {
      for (size_t i = 0; i < n; ++i) {
        LabSample p;
        p.t_s = double(next) / 1e9;
        p.flow = uint32_t(i);
        const uint64_t got = received(i);
        p.mbps = double(got - rx_prev[i]) * 8e3 / double(next - t);
        rx_prev[i] = got;
        if (const tcp::Connection* c = tx[i]->connection()) {
          p.cwnd_kb = double(c->cwnd()) / 1024;
          p.srtt_ms = double(c->report(next).srtt_ns) / 1e6;
        }
        p.queue = fwd->queue_length(next);
        r.trace.push_back(p);
      }
    }
    t = next;
  }

  const double window_s = double(s.duration_ns - s.measure_from_ns) / 1e9;
  const LinkStats& end = fwd->stats();
  uint64_t delivered = 0, retx = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t got = received(i) - rx0[i];
    delivered += got;
    r.flow_mbps.push_back(window_s > 0 ? double(got) * 8 / window_s / 1e6 : 0);
    if (!rx[i]->flows().empty() && rx[i]->flows()[0].corrupt && r.failure.empty())
      r.failure = "flow " + std::to_string(i) + " received bytes that differ from what was sent";
    if (received(i) == 0 && r.failure.empty())
      r.failure = "flow " + std::to_string(i) + " delivered nothing";
    retx += tx[i]->retransmitted_bytes();
  }
  retx -= std::min(retx, retx0);
  if (window_s > 0)
    r.utilization = std::min(1.0, double(end.busy_ns - at_measure.busy_ns) / (window_s * 1e9));
  const uint64_t served = end.sent - at_measure.sent;
  if (served)
    r.queue_delay_ms = double(end.queue_delay_ns - at_measure.queue_delay_ns) / double(served) / 1e6;
  r.retransmitted_fraction = delivered ? double(retx) / double(delivered) : 0;

  // Loss episodes: drops closer than a base RTT belong to one.
  const uint64_t gap = std::max<uint64_t>(s.base_rtt_ns(), kMs);
  std::vector<bool> hit(n, false);
  uint32_t all = 0;
  double hit_sum = 0;
  uint64_t last = 0;
  bool open = false;
  auto close = [&] {
    if (!open) return;
    ++r.loss_episodes;
    const size_t k = size_t(std::count(hit.begin(), hit.end(), true));
    if (k == n) ++all;
    hit_sum += double(k) / double(n);
    std::fill(hit.begin(), hit.end(), false);
  };
  for (const DropLog::Drop& d : drops.drops) {
    if (d.at < s.measure_from_ns || d.flow >= n) continue;
    if (open && d.at - last > gap) close();
    open = true;
    hit[d.flow] = true;
    last = d.at;
  }
  close();
  r.sync_fraction = r.loss_episodes ? double(all) / r.loss_episodes : 0;
  r.flows_hit = r.loss_episodes ? hit_sum / r.loss_episodes : 0;
  r.sim_ns = net.sim().now();
  r.events = net.sim().events_run();
  r.cpu_s = thread_cpu_s() - cpu0;
  return r;
}

// ------------------------------------------------------------------ experiments

namespace {

LinkParams bottleneck(double mbps, double rtt_ms, double queue_bdps) {
  LinkParams p;
  p.rate_bps = mbps * 1e6;
  p.delay_ns = uint64_t(rtt_ms / 2 * 1e6);
  const double bdp_packets = mbps * 1e6 * rtt_ms / 1e3 / 8 / 1514;
  p.queue_packets = std::max<uint32_t>(uint32_t(bdp_packets * queue_bdps), 8);
  return p;
}

const std::vector<ExperimentInfo> kExperiments = {
    {"high-bdp", "63-64",
     "one flow, 155 Mbit/s, 80 ms RTT, a queue of one BDP (and of a tenth of one), 30 s",
     "CUBIC, Compound and BBR use the link well above Reno, NewReno and Tahoe",
     "tahoe,reno,newreno,cubic,compound,bbr", false},
    {"delay", "82-83",
     "one flow, 100 Mbit/s, 40 ms RTT, a deep queue of four BDPs, 20 s",
     "Vegas and BBR keep the queue (and the delay) far below the loss-based algorithms",
     "reno,cubic,vegas,bbr", false},
    {"rtt-fairness", "79",
     "two flows of one algorithm, 10 ms and 100 ms RTT (and 100 ms and 1 s), 100 Mbit/s, 30 s",
     "the short-RTT flow takes most of the link under Reno; Compound is fairer",
     "reno,cubic,compound", false},
    {"friendliness", "70-71",
     "a flow of each algorithm against one of --against (reno), 100 Mbit/s, 40 ms RTT, 30 s",
     "CUBIC and Compound take more than half against Reno; Vegas takes less; BBR holds its own "
     "against CUBIC",
     "cubic,vegas,compound,bbr", true},
    {"random-loss", "82",
     "one flow, 100 Mbit/s, 40 ms RTT, random loss from 0.01% to 2%, 20 s",
     "Reno follows Mathis et al.'s MSS/RTT * 1.22/sqrt(p); loss-insensitive algorithms (BBR) "
     "stay far above it",
     "reno,cubic,vegas,bbr", false},
    {"synchronization", "59, 80",
     "eight flows of one algorithm, 100 Mbit/s, 40 ms RTT, a queue of one BDP: drop-tail, RED "
     "and CoDel, 30 s",
     "drop-tail hits every flow in the same loss episode (synchronization); RED and CoDel "
     "spread the losses",
     "reno,cubic", false},
};

const LossLevel kLossLevels[] = {
    {"p=0.01%", 0.0001}, {"p=0.1%", 0.001}, {"p=0.5%", 0.005}, {"p=1%", 0.01}, {"p=2%", 0.02}};
constexpr double kLossRttMs = 40;

std::vector<std::string> conditions_of(std::string_view name) {
  if (name == "high-bdp") return {"buffer=BDP", "buffer=BDP/10"};
  if (name == "rtt-fairness") return {"10ms/100ms", "100ms/1s"};
  if (name == "random-loss") {
    std::vector<std::string> v;
    for (const LossLevel& l : kLossLevels) v.push_back(l.label);
    return v;
  }
  if (name == "synchronization") return {"droptail", "red", "codel"};
  return {""};
}

uint64_t scaled(double s, const LabOptions& o) {
  return std::max<uint64_t>(uint64_t(s * o.duration_scale * 1e9), 500 * kMs);
}

void setup_job(const ExperimentInfo& e, const LabOptions& o, LabJob& j) {
  LabSetup& s = j.setup;
  s.sack = o.sack;
  s.pacing = o.pacing;
  util::Rng rng(j.seed * 0x9e3779b97f4a7c15ull + 17);
  // The lecture: vary the timing of flow start times.
  auto start = [&](uint64_t spread_ns) { return rng.below(spread_ns); };
  const std::string_view n = e.name;
  if (n == "high-bdp") {
    s.bottleneck = bottleneck(155, 80, j.condition == 0 ? 1 : 0.1);
    s.flows = {{j.algo, 0, start(200 * kMs)}};
    s.duration_ns = scaled(30, o);
    s.measure_from_ns = 0;
  } else if (n == "delay") {
    s.bottleneck = bottleneck(100, 40, 4);
    s.flows = {{j.algo, 0, start(200 * kMs)}};
    s.duration_ns = scaled(20, o);
    s.measure_from_ns = s.duration_ns / 4;
  } else if (n == "rtt-fairness") {
    // The bottleneck adds 5 ms of round trip; access links make the rest.
    s.bottleneck = bottleneck(100, 5, 1);
    s.bottleneck.queue_packets = bottleneck(100, 100, 1).queue_packets;
    const double short_ms = j.condition == 0 ? 10 : 100, long_ms = j.condition == 0 ? 100 : 1000;
    s.flows = {{j.algo, uint64_t((short_ms - 5) / 2 * 1e6), start(200 * kMs)},
               {j.algo, uint64_t((long_ms - 5) / 2 * 1e6), start(200 * kMs)}};
    s.duration_ns = scaled(j.condition == 0 ? 30 : 60, o);
    s.measure_from_ns = s.duration_ns / 4;
  } else if (n == "friendliness") {
    s.bottleneck = bottleneck(100, 40, 1);
    s.flows = {{j.algo, 0, start(200 * kMs)}, {o.against, 0, start(200 * kMs)}};
    s.duration_ns = scaled(30, o);
    s.measure_from_ns = s.duration_ns / 4;
  } else if (n == "random-loss") {
    s.bottleneck = bottleneck(100, kLossRttMs, 1);
    s.bottleneck.loss.bernoulli = kLossLevels[j.condition].p;
    s.flows = {{j.algo, 0, start(200 * kMs)}};
    s.duration_ns = scaled(20, o);
    s.measure_from_ns = s.duration_ns / 4;
  } else if (n == "synchronization") {
    s.bottleneck = bottleneck(100, 40, 1);
    s.bottleneck.aqm = j.condition == 0 ? Aqm::droptail : j.condition == 1 ? Aqm::red : Aqm::codel;
    for (int i = 0; i < 8; ++i) s.flows.push_back({j.algo, 0, start(1000 * kMs)});
    s.duration_ns = scaled(30, o);
    s.measure_from_ns = s.duration_ns / 4;
  }
  // Send and receive buffers of four BDPs of the longest path, so the
  // window, not a buffer, limits each flow.
  uint64_t longest = 0;
  for (const LabFlow& f : s.flows) longest = std::max(longest, f.extra_delay_ns);
  const double rtt_s = double(2 * (s.bottleneck.delay_ns + longest)) / 1e9;
  const double bdp = s.bottleneck.rate_bps / 8 * rtt_s;
  s.sndbuf = s.rcvbuf = uint32_t(std::clamp(4 * bdp, 1.0 * (1 << 20), 256.0 * (1 << 20)));
  s.buffers = size_t(std::clamp(4 * bdp / 1448 + s.bottleneck.queue_packets + 4096, 8192.0, 400000.0));
}

double jain(const std::vector<double>& x) {
  double sum = 0, sq = 0;
  for (double v : x) {
    sum += v;
    sq += v * v;
  }
  return sq > 0 ? sum * sum / (double(x.size()) * sq) : 0;
}

}  // namespace

const std::vector<ExperimentInfo>& experiments() { return kExperiments; }

std::span<const LossLevel> random_loss_levels() { return kLossLevels; }

const ExperimentInfo* find_experiment(std::string_view name) {
  for (const ExperimentInfo& e : kExperiments)
    if (name == e.name) return &e;
  return nullptr;
}

std::vector<LabJob> plan_experiment(const ExperimentInfo& e, const LabOptions& o) {
  std::vector<LabJob> jobs;
  const std::vector<std::string> conds = conditions_of(e.name);
  for (size_t c = 0; c < conds.size(); ++c)
    for (tcp::CcAlgo a : o.algos)
      for (uint32_t i = 0; i < o.runs; ++i) {
        LabJob j;
        j.algo = a;
        j.run = i;
        j.condition = c;
        j.condition_label = conds[c];
        j.seed = o.seed + i;  // the same seeds for every algorithm
        setup_job(e, o, j);
        jobs.push_back(std::move(j));
      }
  return jobs;
}

std::map<std::string, double> job_metrics(const ExperimentInfo& e, const LabJob& j,
                                          const LabRun& r) {
  std::map<std::string, double> m;
  const std::string at = j.condition_label.empty() ? "" : "@" + j.condition_label;
  double total = 0;
  for (double v : r.flow_mbps) total += v;
  const std::string_view n = e.name;
  if (n == "high-bdp") {
    m["utilization" + at] = r.utilization;
    m["throughput_mbps" + at] = total;
    m["retransmitted_fraction" + at] = r.retransmitted_fraction;
  } else if (n == "delay") {
    m["queue_delay_ms"] = r.queue_delay_ms;
    m["throughput_mbps"] = total;
    m["utilization"] = r.utilization;
  } else if (n == "rtt-fairness") {
    m["share" + at] = total > 0 ? r.flow_mbps[0] / total : 0;
    m["jain" + at] = jain(r.flow_mbps);
    if (r.flow_mbps[1] > 0) m["throughput_ratio" + at] = r.flow_mbps[0] / r.flow_mbps[1];
  } else if (n == "friendliness") {
    m["share"] = total > 0 ? r.flow_mbps[0] / total : 0;
    m["jain"] = jain(r.flow_mbps);
    m["utilization"] = r.utilization;
  } else if (n == "random-loss") {
    m["throughput_mbps" + at] = total;
  } else if (n == "synchronization") {
    m["utilization" + at] = r.utilization;
    m["synchronized_losses" + at] = r.sync_fraction;
    m["flows_hit" + at] = r.flows_hit;
    m["queue_delay_ms" + at] = r.queue_delay_ms;
    m["jain" + at] = jain(r.flow_mbps);
  }
  return m;
}

std::map<std::string, double> experiment_references(const ExperimentInfo& e, const LabOptions&) {
  std::map<std::string, double> m;
  if (std::string_view(e.name) == "random-loss")
    for (const LossLevel& l : kLossLevels)
      m[std::string("mathis_mbps@") + l.label] =
          kMss * 8 / (kLossRttMs / 1e3) * 1.22 / std::sqrt(l.p) / 1e6;
  return m;
}

LabResults run_experiment(const ExperimentInfo& e, const LabOptions& o, unsigned threads,
                          const std::function<void(size_t, size_t)>& progress) {
  LabResults res;
  res.jobs = plan_experiment(e, o);
  const size_t n = res.jobs.size();
  res.runs.resize(n);
  res.metrics.resize(n);
  std::atomic<size_t> next{0}, finished{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        res.runs[i] = run_lab(res.jobs[i].setup, res.jobs[i].seed);
      } catch (const std::exception& x) {
        // Out of memory, or more events pending than the simulator holds:
        // this run fails, the others go on.
        res.runs[i] = LabRun{};
        res.runs[i].failure = std::string("the run stopped: ") + x.what();
      }
      if (res.runs[i].failure.empty()) res.metrics[i] = job_metrics(e, res.jobs[i], res.runs[i]);
      ++finished;
    }
  };
  // `threads` workers; the calling thread waits and reports progress.
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < std::min<size_t>(std::max(threads, 1u), n); ++t) pool.emplace_back(worker);
  while (finished.load() < n) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (progress) progress(finished.load(), n);
  }
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < n; ++i) {
    res.cpu_s += res.runs[i].cpu_s;
    res.sim_s += double(res.runs[i].sim_ns) / 1e9;
    if (!res.runs[i].failure.empty()) {
      ++res.failures;
      continue;
    }
    for (const auto& [name, v] : res.metrics[i])
      res.samples[tcp::cc_name(res.jobs[i].algo)][name].push_back(v);
  }
  return res;
}

}  // namespace ts::sim
