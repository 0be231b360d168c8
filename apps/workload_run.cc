#include "apps/workload_run.hh"

#include <atomic>
#include <cstdio>
#include <memory>
#include <tuple>

#include <nlohmann/json.hpp>

#include "apps/cores.hh"
#include "apps/report.hh"
#include "util/parse.hh"
#include "workload/ping.hh"

namespace ts::app {

namespace {

double gbits(uint64_t bytes, double s) { return s > 0 ? double(bytes) * 8 / s / 1e9 : 0; }

uint64_t parse_positive(const std::string& text, const char* flag, const char* example) {
  auto v = util::parse_count(text);
  if (!v || *v == 0) usage_error(std::string(flag) + " '" + text + "' is not a positive " + example);
  return *v;
}

}  // namespace

WorkloadPlan plan_workload(const WorkloadArgs& w, const CommonArgs& c, uint16_t mtu) {
  WorkloadPlan plan;
  workload::GenConfig& g = plan.gen;
  const workload::ModeInfo* mode = workload::find_mode(w.mode);
  if (!mode) usage_error("--mode '" + w.mode + "' is not one of " + workload::mode_names());
  g.mode = mode->mode;
  const uint32_t max_conns = mode->tcp ? (1u << 24) : uint32_t(workload::PingWorkload::kSlots);
  if (w.conns < 1 || w.conns > max_conns)
    usage_error("--conns must be between 1 and " +
                (mode->tcp ? std::string("16M") : std::to_string(max_conns)));
  g.conns = w.conns;
  for (auto [text, flag, example] : {std::tuple{&w.rate, "--rate", "rate like 1000 or 2.5M"},
                                     std::tuple{&w.requests, "--requests", "count"}}) {
    if (text->empty()) continue;
    const uint64_t v = parse_positive(*text, flag, example);
    if (!mode->requests)
      usage_error(std::string(flag) + " does not apply to --mode " + mode->name);
    if (text == &w.rate)
      g.rate = double(v);
    else
      g.requests = v;
  }
  for (auto [text, flag, out] : {std::tuple{&w.req_size, "--req-size", &g.req_size},
                                 std::tuple{&w.resp_size, "--resp-size", &g.resp_size}}) {
    auto v = util::parse_bytes(*text);
    if (!v || *v == 0 || *v > (1u << 30))
      usage_error(std::string(flag) + " '" + *text + "' must be 1 byte to 1G");
    *out = uint32_t(*v);
  }
  if (w.path.empty() || w.path[0] != '/' || w.path.find_first_of(" \r\n") != std::string::npos)
    usage_error("--path '" + w.path + "' must start with / and hold no spaces or line breaks");
  g.path = w.path;
  if (!mode->tcp) {
    auto size = util::parse_bytes(w.size);
    const uint64_t max_payload = uint64_t(mtu) - 28;
    if (!size || *size < workload::PingWorkload::kMinPayload || *size > max_payload)
      usage_error("--size '" + w.size + "' must be " +
                  std::to_string(workload::PingWorkload::kMinPayload) + " to " +
                  std::to_string(max_payload) + " bytes (ICMP payload within the MTU)");
    g.size = uint16_t(*size);
  }
  g.timeout_ns = parse_duration_required(w.timeout, "--timeout");
  if (g.timeout_ns == 0) usage_error("--timeout must be positive");
  plan.duration_ns = parse_duration_arg(c.duration, "--duration").value_or(0);
  plan.progress_ns = parse_duration_required(c.progress, "--progress");
  if (plan.progress_ns == 0) plan.progress_ns = 1'000'000'000;
  plan.quiet = c.quiet;
  plan.json_path = w.json;
  return plan;
}

workload::GenConfig core_share(const workload::GenConfig& g, unsigned core, unsigned cores) {
  workload::GenConfig c = g;
  auto part = [&](uint64_t total) { return total / cores + (core < total % cores ? 1 : 0); };
  c.conns = uint32_t(part(g.conns));
  c.requests = part(g.requests);
  c.rate = g.rate / cores;
  return c;
}

void check_core_share(const WorkloadPlan& plan, unsigned cores) {
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

void print_progress(const WorkloadPlan& plan, uint64_t since_start, double dt,
                    const workload::GenStats& s, const workload::GenStats& before,
                    const util::Histogram& h) {
  const double t = double(since_start) / 1e9;
  const double answered =
      double(s.responses_ok + s.responses_bad - before.responses_ok - before.responses_bad) / dt;
  if (!plan.mode().requests)
    std::printf("[%7.1fs] %.2f Gbit/s  conns %llu  errors %llu\n", t,
                gbits(s.bytes_acked - before.bytes_acked, dt),
                (unsigned long long)(s.conns_established),
                (unsigned long long)(s.errors + s.conns_failed));
  else if (!plan.mode().tcp)
    std::printf("[%7.1fs] %s req/s  sent %llu  ok %llu  lost %llu  rtt p50 %s p99 %s max %s\n", t,
                si(answered).c_str(), (unsigned long long)s.requests_sent,
                (unsigned long long)s.responses_ok, (unsigned long long)s.errors,
                human_ns(h.quantile(0.5)).c_str(), human_ns(h.quantile(0.99)).c_str(),
                human_ns(h.max()).c_str());
  else
    std::printf("[%7.1fs] %s req/s  %s conn/s  ok %llu  errors %llu  p50 %s  p99 %s\n", t,
                si(answered).c_str(),
                si(double(s.conns_established - before.conns_established) / dt).c_str(),
                (unsigned long long)s.responses_ok,
                (unsigned long long)(s.errors + s.conns_failed + s.responses_bad),
                human_ns(h.quantile(0.5)).c_str(), human_ns(h.quantile(0.99)).c_str());
  std::fflush(stdout);
}

}  // namespace

WorkloadResult run_workload(std::vector<WorkloadCore>& cores, const std::vector<unsigned>& lcores,
                            const WorkloadPlan& plan, const glue::TscClock& clock) {
  const size_t n = cores.size();
  auto state = std::make_unique<CoreState[]>(n);
  std::atomic<uint64_t> end_at{0};   // set once, by core 0
  std::atomic<bool> abandon{false};  // set when the caller's scope is left early
  std::atomic<size_t> closed{0};     // cores through their close phase
  DrainBarrier drain;
  const bool requests = plan.mode().requests;
  const uint64_t start = clock.now_ns();

  // Core 0's bookkeeping for the progress line.
  uint64_t next_report = start + plan.progress_ns, last_report = start;
  bool asking = false;
  workload::GenStats before;

  auto coordinate = [&](workload::Workload& work, uint64_t now) {
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
    workload::GenStats sum = work.stats();
    util::Histogram interval = work.take_interval();
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
    workload::Workload& work = *cores[i].work;
    CoreState& me = state[i];
    work.start(clock.now_ns());
    bool stopped = false;
    for (;;) {
      const uint64_t now = clock.now_ns();
      cores[i].poll(now);
      work.tick(now);
      if (work.done() && !me.done.load(std::memory_order_relaxed))
        me.done.store(true, std::memory_order_release);
      if (i == 0) {
        coordinate(work, now);
      } else {
        me.progress.serve([&](Progress& p) {
          p.totals = work.stats();
          p.totals.latency = util::Histogram();
          p.interval = work.take_interval();
        });
      }
      if (abandon.load(std::memory_order_relaxed)) break;
      const uint64_t e = end_at.load(std::memory_order_acquire);
      if (e && !stopped) {
        work.stop();
        stopped = true;
      }
      // After the end, requests in flight may still complete for a while
      // (core 0 may have set the end after this core read its clock).
      if (stopped && (work.done() || !requests || (now > e && now - e >= work.drain_ns()))) break;
    }
    me.final = work.final_stats();
    // Close politely and give the FINs a moment. A core keeps polling until
    // every core is through this (at most another 400 ms): a core without a
    // port queue sends through another, and steered segments need their
    // receiving core.
    const uint64_t stop = clock.now_ns();
    work.close_all(stop);
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
  WorkloadResult r;
  const uint64_t e = end_at.load();
  r.elapsed_s = double((e ? e : clock.now_ns()) - start) / 1e9;
  r.stats = state[0].final;
  for (size_t k = 1; k < n; ++k) r.stats.merge(state[k].final);
  return r;
}

namespace {

void print_ping_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r) {
  const auto& s = r.stats;
  const auto& h = s.latency;
  const auto& g = plan.gen;
  const double ok_pct = s.requests_sent ? 100.0 * double(s.responses_ok) / double(s.requests_sent) : 0.0;
  std::printf("%s: %s, %s%u in flight%s, %u-byte payload, %.2f s\n", title, g.target.str().c_str(),
              g.rate > 0 ? "open loop " : "closed loop ", g.rate > 0 ? 0u : g.conns,
              g.rate > 0 ? (" at " + si(g.rate) + " req/s").c_str() : "", unsigned(g.size),
              r.elapsed_s);
  std::printf("  requests sent     %llu\n", (unsigned long long)s.requests_sent);
  std::printf("  replies ok        %llu (%.3f%%), byte-for-byte identical to the request\n",
              (unsigned long long)s.responses_ok, ok_pct);
  std::printf("  lost %llu  late %llu  corrupt %llu  duplicate %llu  foreign %llu  send failed %llu\n",
              (unsigned long long)s.errors, (unsigned long long)s.late_replies,
              (unsigned long long)s.responses_bad, (unsigned long long)s.duplicates,
              (unsigned long long)s.foreign, (unsigned long long)s.send_failed);
  std::printf("  rate              %s replies/s\n",
              si(r.elapsed_s > 0 ? double(s.responses_ok) / r.elapsed_s : 0).c_str());
  std::printf("  round trip        min %s  %s\n", human_ns(h.min()).c_str(),
              percentiles_line(h).c_str());
}

void print_tcp_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r) {
  const auto& s = r.stats;
  const auto& h = s.latency;
  const auto& g = plan.gen;
  std::printf("%s: %s:%u, mode %s, %s, %.2f s\n", title, g.target.str().c_str(), g.port,
              plan.mode().name,
              g.rate > 0 ? ("open loop at " + si(g.rate) + "/s, at most " +
                            std::to_string(g.conns) + " connections").c_str()
                         : ("closed loop, " + std::to_string(g.conns) + " connections").c_str(),
              r.elapsed_s);
  std::printf("  connections   attempted %llu  established %llu  failed %llu  no port/slot %llu\n",
              (unsigned long long)s.conns_attempted, (unsigned long long)s.conns_established,
              (unsigned long long)s.conns_failed, (unsigned long long)s.conns_no_slot);
  if (plan.mode().requests) {
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
              gbits(plan.mode().requests ? s.bytes_rx + s.bytes_tx : s.bytes_acked, r.elapsed_s));
}

}  // namespace

void print_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r) {
  if (plan.mode().tcp)
    print_tcp_summary(title, plan, r);
  else
    print_ping_summary(title, plan, r);
  std::fflush(stdout);
}

void write_json(const std::string& command, const WorkloadPlan& plan, const WorkloadResult& r,
                const stack::Counters& counters) {
  if (plan.json_path.empty()) return;
  const auto& s = r.stats;
  const auto& g = plan.gen;
  const double t = r.elapsed_s > 0 ? r.elapsed_s : 1;
  nlohmann::ordered_json j;
  j["tool"] = "touchstone";
  j["command"] = command;
  j["mode"] = plan.mode().name;
  j["target"] = plan.mode().tcp ? g.target.str() + ":" + std::to_string(g.port) : g.target.str();
  j["duration_s"] = r.elapsed_s;
  if (!plan.mode().tcp) {
    j["config"] = {{"conns", g.conns},
                   {"rate", g.rate},
                   {"requests", g.requests},
                   {"size", g.size},
                   {"timeout_ms", double(g.timeout_ns) / 1e6}};
    j["requests_sent"] = s.requests_sent;
    j["responses_ok"] = s.responses_ok;
    j["lost"] = s.errors;
    j["late"] = s.late_replies;
    j["corrupt"] = s.responses_bad;
    j["duplicate"] = s.duplicates;
    j["foreign"] = s.foreign;
    j["send_failed"] = s.send_failed;
    j["rps"] = r.elapsed_s > 0 ? double(s.responses_ok) / r.elapsed_s : 0.0;
  } else {
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
    j["cps"] = double(s.conns_established) / t;
    j["rps"] = double(s.responses_ok) / t;
    j["gbps"] = gbits(plan.mode().requests ? s.bytes_rx + s.bytes_tx : s.bytes_acked, t);
  }
  j["latency_us"] = latency_json(s.latency);
  j["counters"] = counters_json(counters);
  write_json_file(plan.json_path, j);
}

int exit_status(const WorkloadPlan& plan, const WorkloadResult& r) {
  const auto& s = r.stats;
  if (!plan.mode().tcp) return s.responses_ok > 0 && s.responses_bad == 0 ? 0 : 1;
  if (!plan.mode().requests) return s.bytes_acked > 0 && !s.conns_failed ? 0 : 1;
  return s.responses_ok > 0 && !s.responses_bad && !s.errors && !s.conns_failed ? 0 : 1;
}

}  // namespace ts::app
