#include "apps/ping_run.hh"

#include "apps/report.hh"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "util/parse.hh"

namespace ts::app {

PingPlan plan_ping(const WorkloadArgs& w, const CommonArgs& c, wire::Ipv4Addr target,
                   uint16_t mtu) {
  PingPlan plan;
  plan.cfg.target = target;
  if (w.conns < 1 || w.conns > stack::Pinger::kSlots)
    usage_error("--conns must be between 1 and " + std::to_string(stack::Pinger::kSlots));
  plan.cfg.window = w.conns;
  if (!w.rate.empty()) {
    auto r = util::parse_count(w.rate);
    if (!r || *r == 0) usage_error("--rate '" + w.rate + "' is not a positive rate like 1000 or 2.5M");
    plan.cfg.rate = double(*r);
  }
  if (!w.requests.empty()) {
    auto n = util::parse_count(w.requests);
    if (!n || *n == 0) usage_error("--requests '" + w.requests + "' is not a positive count");
    plan.cfg.count = *n;
  }
  auto size = util::parse_bytes(w.size);
  const uint64_t max_payload = uint64_t(mtu) - 28;
  if (!size || *size < stack::Pinger::kMinPayload || *size > max_payload)
    usage_error("--size '" + w.size + "' must be " + std::to_string(stack::Pinger::kMinPayload) +
                " to " + std::to_string(max_payload) + " bytes (ICMP payload within the MTU)");
  plan.cfg.payload_len = uint16_t(*size);
  plan.cfg.timeout_ns = parse_duration_required(w.timeout, "--timeout");
  if (plan.cfg.timeout_ns == 0) usage_error("--timeout must be positive");
  plan.duration_ns = parse_duration_arg(c.duration, "--duration").value_or(0);
  plan.progress_ns = parse_duration_required(c.progress, "--progress");
  if (plan.progress_ns == 0) plan.progress_ns = 1'000'000'000;
  plan.quiet = c.quiet;
  plan.json_path = w.json;
  return plan;
}

namespace {

void progress_line(double t, stack::PingStats& s, uint64_t ok_before, double interval_s) {
  const auto& h = s.rtt_interval_ns;
  std::printf("[%7.1fs] %s req/s  sent %llu  ok %llu  lost %llu  rtt p50 %s p99 %s max %s\n", t,
              si(double(s.received - ok_before) / interval_s).c_str(),
              (unsigned long long)s.sent, (unsigned long long)s.received,
              (unsigned long long)s.lost, human_ns(h.quantile(0.5)).c_str(),
              human_ns(h.quantile(0.99)).c_str(), human_ns(h.max()).c_str());
  std::fflush(stdout);
  s.rtt_interval_ns.reset();
}

}  // namespace

PingResult run_ping(stack::Pinger& pinger, const PingPlan& plan, const glue::TscClock& clock,
                    const std::function<void(uint64_t)>& poll) {
  const uint64_t start = clock.now_ns();
  uint64_t next_report = start + plan.progress_ns;
  uint64_t last_report = start, ok_before = 0;
  uint64_t drain_until = 0;
  bool finishing = false;
  while (true) {
    const uint64_t now = clock.now_ns();
    pinger.step(now);
    poll(now);
    if (!finishing && (g_stop.load(std::memory_order_relaxed) ||
                       (plan.duration_ns && now - start >= plan.duration_ns))) {
      finishing = true;
      pinger.finish();
      drain_until = now + std::min<uint64_t>(plan.cfg.timeout_ns, 1'000'000'000);
    }
    if (pinger.done() || (finishing && now >= drain_until)) break;
    if (now >= next_report) {
      if (!plan.quiet) {
        auto& s = pinger.mutable_stats();
        progress_line(double(now - start) / 1e9, s, ok_before, double(now - last_report) / 1e9);
        ok_before = s.received;
      }
      last_report = now;
      next_report += plan.progress_ns;
      if (next_report <= now) next_report = now + plan.progress_ns;
    }
  }
  PingResult r;
  r.elapsed_s = double(clock.now_ns() - start) / 1e9;
  r.stats = pinger.stats();
  // Requests never answered by the end count as lost.
  r.stats.lost += pinger.in_flight();
  return r;
}

void print_ping_summary(const char* title, const PingPlan& plan, const PingResult& r) {
  const auto& s = r.stats;
  const auto& h = s.rtt_ns;
  const double ok_pct = s.sent ? 100.0 * double(s.received) / double(s.sent) : 0.0;
  std::printf("%s: %s, %s%u in flight%s, %u-byte payload, %.2f s\n", title,
              plan.cfg.target.str().c_str(), plan.cfg.rate > 0 ? "open loop " : "closed loop ",
              plan.cfg.rate > 0 ? 0u : plan.cfg.window,
              plan.cfg.rate > 0 ? (" at " + si(plan.cfg.rate) + " req/s").c_str() : "",
              plan.cfg.payload_len, r.elapsed_s);
  std::printf("  requests sent     %llu\n", (unsigned long long)s.sent);
  std::printf("  replies ok        %llu (%.3f%%), byte-for-byte identical to the request\n",
              (unsigned long long)s.received, ok_pct);
  std::printf("  lost %llu  late %llu  corrupt %llu  duplicate %llu  foreign %llu  send failed %llu\n",
              (unsigned long long)s.lost, (unsigned long long)s.late,
              (unsigned long long)s.corrupt, (unsigned long long)s.duplicate,
              (unsigned long long)s.foreign, (unsigned long long)s.send_failed);
  std::printf("  rate              %s replies/s\n",
              si(r.elapsed_s > 0 ? double(s.received) / r.elapsed_s : 0).c_str());
  std::printf("  round trip        min %s  %s\n", human_ns(h.min()).c_str(),
              percentiles_line(h).c_str());
  std::fflush(stdout);
}

void write_ping_json(const std::string& command, const PingPlan& plan, const PingResult& r,
                     const stack::Counters& counters) {
  if (plan.json_path.empty()) return;
  const auto& s = r.stats;
  const auto& h = s.rtt_ns;
  nlohmann::ordered_json j;
  j["tool"] = "touchstone";
  j["command"] = command;
  j["mode"] = "ping";
  j["target"] = plan.cfg.target.str();
  j["duration_s"] = r.elapsed_s;
  j["config"] = {{"conns", plan.cfg.window},
                 {"rate", plan.cfg.rate},
                 {"requests", plan.cfg.count},
                 {"size", plan.cfg.payload_len},
                 {"timeout_ms", double(plan.cfg.timeout_ns) / 1e6}};
  j["requests_sent"] = s.sent;
  j["responses_ok"] = s.received;
  j["lost"] = s.lost;
  j["late"] = s.late;
  j["corrupt"] = s.corrupt;
  j["duplicate"] = s.duplicate;
  j["foreign"] = s.foreign;
  j["send_failed"] = s.send_failed;
  j["rps"] = r.elapsed_s > 0 ? double(s.received) / r.elapsed_s : 0.0;
  j["latency_us"] = latency_json(h);
  j["counters"] = counters_json(counters);
  write_json_file(plan.json_path, j);
}

int ping_exit_status(const PingResult& r) {
  return (r.stats.received > 0 && r.stats.corrupt == 0) ? 0 : 1;
}

}  // namespace ts::app
