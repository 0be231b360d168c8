#include "apps/tcp_run.hh"

#include "apps/report.hh"

#include "apps/cores.hh"

#include <atomic>
#include <cstdio>
#include <memory>
#include <tuple>

#include <nlohmann/json.hpp>

#include "util/parse.hh"

namespace ts::app {

bool is_tcp_mode(const std::string& mode) {
  workload::GenMode m;
  return workload::parse_gen_mode(mode, m);
}

TcpPlan plan_tcp(const WorkloadArgs& w, const CommonArgs& c, wire::Ipv4Addr target,
                 uint16_t port) {
  TcpPlan plan;
  workload::GenConfig& g = plan.gen;
  if (!workload::parse_gen_mode(w.mode, g.mode))
    usage_error("--mode '" + w.mode + "' is not one of cps, rr, bulk, http, ping");
  g.target = target;
  g.port = port;
  if (w.conns < 1 || w.conns > (1u << 24)) usage_error("--conns must be between 1 and 16M");
  g.conns = w.conns;
  if (!w.rate.empty()) {
    auto r = util::parse_count(w.rate);
    if (!r || *r == 0) usage_error("--rate '" + w.rate + "' is not a positive rate like 1000 or 2.5M");
    if (g.mode == workload::GenMode::bulk) usage_error("--rate does not apply to --mode bulk");
    g.rate = double(*r);
  }
  if (!w.requests.empty()) {
    auto n = util::parse_count(w.requests);
    if (!n || *n == 0) usage_error("--requests '" + w.requests + "' is not a positive count");
    if (g.mode == workload::GenMode::bulk) usage_error("--requests does not apply to --mode bulk");
    g.requests = *n;
  }
  for (auto [text, flag, out] : {std::tuple{&w.req_size, "--req-size", &g.req_size},
                                 std::tuple{&w.resp_size, "--resp-size", &g.resp_size}}) {
    auto v = util::parse_bytes(*text);
    if (!v || *v == 0 || *v > (1u << 30))
      usage_error(std::string(flag) + " '" + *text + "' must be 1 byte to 1G");
    *out = uint32_t(*v);
  }
  if (w.path.empty() || w.path[0] != '/' ||
      w.path.find_first_of(" \r\n") != std::string::npos)
    usage_error("--path '" + w.path + "' must start with / and hold no spaces or line breaks");
  g.path = w.path;
  g.host = target.str();
  if (parse_duration_required(w.timeout, "--timeout") == 0) usage_error("--timeout must be positive");
  plan.duration_ns = parse_duration_arg(c.duration, "--duration").value_or(0);
  plan.progress_ns = parse_duration_required(c.progress, "--progress");
  if (plan.progress_ns == 0) plan.progress_ns = 1'000'000'000;
  plan.quiet = c.quiet;
  plan.json_path = w.json;
  return plan;
}

namespace {

double gbits(uint64_t bytes, double s) { return s > 0 ? double(bytes) * 8 / s / 1e9 : 0; }

}  // namespace

workload::GenConfig core_share(const workload::GenConfig& g, unsigned core, unsigned cores) {
  workload::GenConfig c = g;
  auto part = [&](uint64_t total) { return total / cores + (core < total % cores ? 1 : 0); };
  c.conns = uint32_t(part(g.conns));
  c.requests = part(g.requests);
  c.rate = g.rate / cores;
  return c;
}

void check_core_share(const TcpPlan& plan, unsigned cores) {
  const auto& g = plan.gen;
  if (g.conns < cores)
    usage_error("--conns " + std::to_string(g.conns) + " is fewer than the " +
                std::to_string(cores) + " cores: each core runs its own connections");
  if (g.requests && g.requests < cores)
    usage_error("--requests " + std::to_string(g.requests) + " is fewer than the " +
                std::to_string(cores) + " cores");
}

namespace {

// What a core reports for the progress line.
struct Progress {
  workload::GenStats totals;
  util::Histogram interval;
};

struct CoreState {
  Snapshot<Progress> progress;
  std::atomic<bool> done{false};
  workload::GenStats final;  // written by the core before its loop returns
};

void print_progress(const TcpPlan& plan, uint64_t since_start, double dt,
                    const workload::GenStats& s, const workload::GenStats& before,
                    const util::Histogram& h) {
  if (plan.gen.mode == workload::GenMode::bulk)
    std::printf("[%7.1fs] %.2f Gbit/s  conns %llu  errors %llu\n", double(since_start) / 1e9,
                gbits(s.bytes_acked - before.bytes_acked, dt),
                (unsigned long long)(s.conns_established),
                (unsigned long long)(s.errors + s.conns_failed));
  else
    std::printf("[%7.1fs] %s req/s  %s conn/s  ok %llu  errors %llu  p50 %s  p99 %s\n",
                double(since_start) / 1e9,
                si(double(s.responses_ok + s.responses_bad - before.responses_ok -
                          before.responses_bad) / dt).c_str(),
                si(double(s.conns_established - before.conns_established) / dt).c_str(),
                (unsigned long long)s.responses_ok,
                (unsigned long long)(s.errors + s.conns_failed + s.responses_bad),
                human_ns(h.quantile(0.5)).c_str(), human_ns(h.quantile(0.99)).c_str());
  std::fflush(stdout);
}

}  // namespace

TcpResult run_tcp(std::vector<TcpCore>& cores, const std::vector<unsigned>& lcores,
                  const TcpPlan& plan, const glue::TscClock& clock) {
  const size_t n = cores.size();
  auto state = std::make_unique<CoreState[]>(n);
  std::atomic<uint64_t> end_at{0};  // set once, by core 0
  std::atomic<bool> abandon{false};  // set when the caller's scope is left early
  std::atomic<size_t> closed{0};     // cores through their close phase
  DrainBarrier drain;
  const bool bulk = plan.gen.mode == workload::GenMode::bulk;
  const uint64_t start = clock.now_ns();

  // Core 0's bookkeeping for the progress line.
  uint64_t next_report = start + plan.progress_ns, last_report = start;
  bool asking = false;
  workload::GenStats before;

  auto coordinate = [&](workload::Generator& gen, uint64_t now) {
    if (!end_at.load(std::memory_order_relaxed)) {
      bool all_done = true;
      for (size_t k = 0; k < n && all_done; ++k)
        all_done = state[k].done.load(std::memory_order_acquire);
      if (g_stop.load(std::memory_order_relaxed) || all_done ||
          (plan.duration_ns && now - start >= plan.duration_ns))
        end_at.store(now, std::memory_order_release);
    }
    auto snap = [&](size_t k) -> auto& { return state[k].progress; };
    if (!asking && now >= next_report) {
      ask_all(n, snap);
      asking = true;
    }
    if (!asking || !all_ready(n, snap)) return;
    asking = false;
    workload::GenStats sum = gen.stats();
    util::Histogram interval = gen.take_interval();
    for (size_t k = 1; k < n; ++k) {
      sum.merge(state[k].progress.value().totals);
      interval.merge(state[k].progress.value().interval);
    }
    sum.latency = util::Histogram();
    if (!plan.quiet)
      print_progress(plan, now - start, double(now - last_report) / 1e9, sum, before, interval);
    before = sum;
    last_report = now;
    next_report += plan.progress_ns;
    if (next_report <= now) next_report = now + plan.progress_ns;
  };

  auto body = [&](size_t i) {
    workload::Generator& gen = *cores[i].gen;
    CoreState& me = state[i];
    gen.start(clock.now_ns());
    bool stopped = false;
    for (;;) {
      const uint64_t now = clock.now_ns();
      cores[i].poll(now);
      gen.tick(now);
      if (gen.done() && !me.done.load(std::memory_order_relaxed))
        me.done.store(true, std::memory_order_release);
      if (i == 0) {
        coordinate(gen, now);
      } else {
        me.progress.serve([&](Progress& p) {
          p.totals = gen.stats();
          p.totals.latency = util::Histogram();
          p.interval = gen.take_interval();
        });
      }
      if (abandon.load(std::memory_order_relaxed)) break;
      const uint64_t e = end_at.load(std::memory_order_acquire);
      if (e && !stopped) {
        gen.stop();
        stopped = true;
      }
      // After the end: requests in flight may still complete, up to 200 ms
      // (core 0 may have set the end after this core read its clock).
      if (stopped && (gen.done() || bulk || (now > e && now - e >= 200'000'000))) break;
    }
    me.final = gen.stats();
    // Close politely and give the FINs a moment. A core keeps polling until
    // every core is through this (at most another 400 ms): a core without a
    // port queue sends through another, and steered segments need their
    // receiving core.
    const uint64_t stop = clock.now_ns();
    gen.close_all(stop);
    bool counted = false;
    for (uint64_t now = stop; now - stop < 500'000'000; now = clock.now_ns()) {
      cores[i].poll(now);
      if (!counted && now - stop >= 100'000'000) {
        closed.fetch_add(1);
        counted = true;
      }
      if (counted && closed.load() == n) break;
    }
    if (n > 1) drain_between_cores(drain, n, clock, cores[i].eps);
  };

  run_on_cores(lcores, body, abandon);
  TcpResult r;
  const uint64_t e = end_at.load();
  r.elapsed_s = double((e ? e : clock.now_ns()) - start) / 1e9;
  r.stats = state[0].final;
  for (size_t k = 1; k < n; ++k) r.stats.merge(state[k].final);
  return r;
}

void print_tcp_summary(const char* title, const TcpPlan& plan, const TcpResult& r) {
  const auto& s = r.stats;
  const auto& h = s.latency;
  const auto& g = plan.gen;
  std::printf("%s: %s:%u, mode %s, %s, %.2f s\n", title, g.target.str().c_str(), g.port,
              workload::gen_mode_name(g.mode),
              g.rate > 0 ? ("open loop at " + si(g.rate) + "/s, at most " +
                            std::to_string(g.conns) + " connections").c_str()
                         : ("closed loop, " + std::to_string(g.conns) + " connections").c_str(),
              r.elapsed_s);
  std::printf("  connections   attempted %llu  established %llu  failed %llu  no port/slot %llu\n",
              (unsigned long long)s.conns_attempted, (unsigned long long)s.conns_established,
              (unsigned long long)s.conns_failed, (unsigned long long)s.conns_no_slot);
  if (g.mode != workload::GenMode::bulk) {
    std::printf("  requests      sent %llu  ok %llu  bad %llu  lost with their connection %llu%s\n",
                (unsigned long long)s.requests_sent, (unsigned long long)s.responses_ok,
                (unsigned long long)s.responses_bad, (unsigned long long)s.errors,
                s.late_dropped ? ("  dropped (queue full) " + std::to_string(s.late_dropped)).c_str()
                               : "");
    std::printf("  rate          %s req/s  %s conn/s\n",
                si(double(s.responses_ok) / r.elapsed_s).c_str(),
                si(double(s.conns_established) / r.elapsed_s).c_str());
    std::printf("  latency       %s\n", percentiles_line(h).c_str());
  }
  std::printf("  bytes         tx %llu (acknowledged %llu)  rx %llu  goodput %.3f Gbit/s\n",
              (unsigned long long)s.bytes_tx, (unsigned long long)s.bytes_acked,
              (unsigned long long)s.bytes_rx,
              gbits(g.mode == workload::GenMode::bulk ? s.bytes_acked : s.bytes_rx + s.bytes_tx,
                    r.elapsed_s));
  std::fflush(stdout);
}

void write_tcp_json(const std::string& command, const TcpPlan& plan, const TcpResult& r,
                    const stack::Counters& counters) {
  if (plan.json_path.empty()) return;
  const auto& s = r.stats;
  const auto& h = s.latency;
  const auto& g = plan.gen;
  nlohmann::ordered_json j;
  j["tool"] = "touchstone";
  j["command"] = command;
  j["mode"] = workload::gen_mode_name(g.mode);
  j["target"] = g.target.str() + ":" + std::to_string(g.port);
  j["duration_s"] = r.elapsed_s;
  j["config"] = {{"conns", g.conns},       {"rate", g.rate},
                 {"requests", g.requests}, {"req_size", g.req_size},
                 {"resp_size", g.resp_size}, {"path", g.path}};
  j["connections"] = {{"attempted", s.conns_attempted},
                      {"established", s.conns_established},
                      {"failed", s.conns_failed},
                      {"no_slot", s.conns_no_slot}};
  j["requests_sent"] = s.requests_sent;
  j["responses_ok"] = s.responses_ok;
  j["responses_bad"] = s.responses_bad;
  j["requests_lost"] = s.errors;
  j["requests_dropped_late"] = s.late_dropped;
  j["bytes"] = {{"tx", s.bytes_tx}, {"tx_acked", s.bytes_acked}, {"rx", s.bytes_rx}};
  const double t = r.elapsed_s > 0 ? r.elapsed_s : 1;
  j["cps"] = double(s.conns_established) / t;
  j["rps"] = double(s.responses_ok) / t;
  j["gbps"] = gbits(g.mode == workload::GenMode::bulk ? s.bytes_acked : s.bytes_rx + s.bytes_tx, t);
  j["latency_us"] = latency_json(h);
  j["counters"] = counters_json(counters);
  write_json_file(plan.json_path, j);
}

int tcp_exit_status(const TcpPlan& plan, const TcpResult& r) {
  const auto& s = r.stats;
  if (plan.gen.mode == workload::GenMode::bulk) return s.bytes_acked > 0 && !s.conns_failed ? 0 : 1;
  return s.responses_ok > 0 && !s.responses_bad && !s.errors && !s.conns_failed ? 0 : 1;
}

}  // namespace ts::app
