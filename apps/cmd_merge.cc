// touchstone merge: one result from the JSON results of many generators
// (docs/distributed.md, "What merge guarantees"). Counts are added, latency
// histograms merged bucket by bucket (so the merged percentiles are exact,
// never averages of percentiles), intervals aligned by wall-clock time.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/commands.hh"
#include "apps/hdr_log.hh"
#include "apps/report.hh"
#include "apps/runtime.hh"
#include "apps/workload_run.hh"

namespace ts::app {

namespace {

using Json = nlohmann::ordered_json;

// Fields merge handles itself rather than by adding them up.
const std::set<std::string, std::less<>> kOwnFields = {
    "tool",     "version", "dpdk_version", "command",      "command_line", "host",
    "started",  "mode",    "target",       "duration_s",   "start_unix_s", "interval_s",
    "config",   "ok",      "failure",      "busy",         "intervals",    "inputs"};
// Rates: generators run at the same time, so their rates add up.
const std::set<std::string, std::less<>> kRates = {"rps", "cps", "syn_rate", "syn_ack_rate",
                                                   "goodput_gbps"};
// A latency summary and the histogram it is computed from.
bool is_summary(const std::string& k) {
  return k == "latency_us" || k == "syn_ack_latency_us" || k == "ended_after_ms";
}

Json load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("merge: cannot read " + path);
  Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw UsageError("merge: " + path + " is not JSON");
  const std::string cmd = j.value("command", "");
  if (j.value("tool", "") != "touchstone" || (cmd != "gen" && cmd != "demo" && cmd != "merge"))
    throw UsageError("merge: " + path + " is not the result of touchstone gen, demo or merge");
  if (j.value("mode", "") == "mix")
    throw UsageError("merge: " + path + " is a traffic mix (gen --config): merge takes results of "
                     "one workload (docs/distributed.md)");
  if (!j.contains("intervals") || !j["intervals"].is_array() || !j.contains("start_unix_s") ||
      !j["start_unix_s"].is_number() || (j.contains("config") && !j["config"].is_object()))
    throw UsageError("merge: " + path +
                     " has no intervals (written by a touchstone older than merge, or by gen "
                     "without --json?)");
  return j;
}

// Adds `b` into `a` where both are counts (unsigned integers) or rates;
// histograms are merged; anything else keeps a's value.
void add_into(Json& a, const Json& b, const std::string& where, bool rate) {
  for (const auto& [k, vb] : b.items()) {
    if (!a.contains(k)) {
      a[k] = vb;
      continue;
    }
    Json& va = a[k];
    const bool r = rate || kRates.count(k);
    if (k.size() > 10 && k.compare(k.size() - 10, 10, "_histogram") == 0) {
      util::Histogram h = histogram_from_json(va, where + " " + k);
      h.merge(histogram_from_json(vb, where + " " + k));
      va = histogram_json(h);
    } else if (va.is_object() && vb.is_object()) {
      add_into(va, vb, where, r);
    } else if (va.is_number_unsigned() && vb.is_number_unsigned()) {
      va = va.get<uint64_t>() + vb.get<uint64_t>();
    } else if (r && (va.is_null() || vb.is_null())) {
      va = nullptr;  // a rate one generator could not give (too short a run)
    } else if (r && va.is_number() && vb.is_number()) {
      va = va.get<double>() + vb.get<double>();
    }
  }
}

// Recomputes each latency summary from its merged histogram.
void summarize(Json& j, const std::string& where) {
  for (auto& [k, v] : j.items()) {
    if (v.is_object() && !(k.size() > 10 && k.compare(k.size() - 10, 10, "_histogram") == 0))
      summarize(v, where);
  }
  auto from = [&](const char* summary, const char* hist, bool ms) {
    if (!j.contains(hist)) return;
    const util::Histogram h = histogram_from_json(j[hist], where + " " + hist);
    if (!h.count()) {
      j[summary] = nullptr;
    } else if (ms) {
      j[summary] = {{"min", double(h.min()) / 1e6},
                    {"p50", double(h.quantile(0.5)) / 1e6},
                    {"max", double(h.max()) / 1e6}};
    } else {
      j[summary] = latency_json(h);
    }
  };
  from("latency_us", "latency_histogram", false);
  from("syn_ack_latency_us", "syn_ack_latency_histogram", false);
  from("ended_after_ms", "ended_after_histogram", true);
}

IntervalRecord interval_from_json(const Json& iv, const std::string& where) {
  IntervalRecord r;
  auto num = [&](const char* k) -> uint64_t {
    if (!iv.contains(k) || !iv[k].is_number_unsigned())
      throw UsageError("merge: " + where + ": an interval has no " + k);
    return iv[k];
  };
  r.requests_sent = num("requests_sent");
  r.responses_ok = num("responses_ok");
  r.errors = num("errors");
  r.conns_established = num("conns_established");
  r.bytes_acked = num("bytes_acked");
  r.bytes_rx = num("bytes_rx");
  r.retransmitted = num("retransmitted");
  r.open = num("open");
  r.warmup = iv.value("warmup", false);
  r.latency = util::SparseHistogram::of(
      histogram_from_json(iv.value("latency_histogram", Json()), where + " interval"));
  return r;
}

struct Input {
  std::string path;
  Json j;
};

// The inputs' intervals in wall-clock slots of `len` seconds from `base`.
Json merge_intervals(const std::vector<Input>& in, double base, double len) {
  struct Slot {
    double start = 1e300, end = -1e300;
    IntervalRecord rec;
    util::Histogram h;
    bool any = false;
  };
  std::map<long, Slot> slots;
  for (const Input& x : in) {
    const double off = x.j["start_unix_s"].get<double>() - base;
    for (const auto& iv : x.j["intervals"]) {
      const IntervalRecord r = interval_from_json(iv, x.path);
      const double s = off + iv.value("start_s", 0.0), e = off + iv.value("end_s", 0.0);
      Slot& slot = slots[std::lround(s / len)];
      slot.start = std::min(slot.start, s);
      slot.end = std::max(slot.end, e);
      slot.rec.add_counts(r);
      slot.h.merge(r.latency.expand());
    }
  }
  Json out = Json::array();
  for (auto& [k, slot] : slots) {
    slot.rec.start_ns = uint64_t(std::max(0.0, slot.start) * 1e9 + 0.5);
    slot.rec.end_ns = std::max(slot.rec.start_ns, uint64_t(std::max(0.0, slot.end) * 1e9 + 0.5));
    slot.rec.latency = util::SparseHistogram::of(slot.h);
    out.push_back(interval_json(slot.rec));
  }
  return out;
}

}  // namespace

int run_merge(const MergeArgs& a) {
  if (a.inputs.empty()) usage_error("merge needs the JSON results to merge: touchstone merge A.json B.json ...");
  check_json_path(a.json);
  if (a.hdr_log == "-") usage_error("--hdr-log needs a file (standard output is for --json -)");
  check_json_path(a.hdr_log, "--hdr-log");
  std::vector<Input> in;
  for (const std::string& p : a.inputs) in.push_back({p, load(p)});
  const std::string mode = in[0].j.value("mode", "");
  for (const Input& x : in) {
    if (x.j.value("mode", "") != mode)
      throw UsageError("merge: mixed modes: " + in[0].path + " is " + mode + ", " + x.path +
                       " is " + x.j.value("mode", "?") + " (merge results of one mode)");
    if (x.j.value("interval_s", 0.0) != in[0].j.value("interval_s", 0.0))
      throw UsageError("merge: " + x.path + " has intervals of " +
                       std::to_string(x.j.value("interval_s", 0.0)) + " s, " + in[0].path +
                       " of " + std::to_string(in[0].j.value("interval_s", 0.0)) +
                       " s (give every generator the same --progress)");
  }

  Json out = json_meta("merge");
  out["mode"] = mode;
  std::set<std::string> targets;
  double base = 1e300, end = 0, duration = 0;
  bool ok = true;
  std::string failure;
  Json inputs = Json::array();
  for (const Input& x : in) {
    targets.insert(x.j.value("target", ""));
    const double s = x.j["start_unix_s"].get<double>(), d = x.j.value("duration_s", 0.0);
    base = std::min(base, s);
    end = std::max(end, s + d + x.j.value("config", Json::object()).value("warmup_s", 0.0));
    duration = std::max(duration, d);
    ok = ok && x.j.value("ok", false);
    if (x.j.contains("failure") && x.j["failure"].is_string())
      failure += (failure.empty() ? "" : "; ") + x.j.value("host", "?") + " (" + x.path +
                 "): " + x.j["failure"].get<std::string>();
    inputs.push_back({{"file", x.path},
                      {"host", x.j.value("host", "")},
                      {"command_line", x.j.value("command_line", "")},
                      {"started", x.j.value("started", "")},
                      {"start_unix_s", s},
                      {"duration_s", d},
                      {"ok", x.j.value("ok", false)}});
  }
  out["target"] = targets.size() == 1 ? Json(*targets.begin()) : Json(targets);
  out["duration_s"] = duration;
  out["span_s"] = end - base;
  out["start_unix_s"] = base;
  out["interval_s"] = in[0].j.value("interval_s", 0.0);
  out["inputs"] = inputs;
  Json config = in[0].j.value("config", Json::object());
  for (const char* k : {"conns", "rate", "requests", "legit_conns"}) {
    if (!config.contains(k) || !config[k].is_number()) continue;
    bool integral = true;
    double sum = 0;
    for (const Input& x : in) {
      const Json c = x.j.value("config", Json::object());
      if (!c.contains(k) || !c[k].is_number()) continue;
      integral = integral && c[k].is_number_unsigned();
      sum += c[k].get<double>();
    }
    config[k] = integral ? Json(uint64_t(sum + 0.5)) : Json(sum);
  }
  out["config"] = config;
  out["ok"] = ok;
  out["failure"] = failure.empty() ? Json(nullptr) : Json(failure);

  Json sums = Json::object();
  for (const Input& x : in) {
    Json part = Json::object();
    for (const auto& [k, v] : x.j.items())
      if (!kOwnFields.count(k) && !is_summary(k)) part[k] = v;
    add_into(sums, part, x.path, false);
  }
  summarize(sums, "merged");
  for (const auto& [k, v] : sums.items()) out[k] = v;

  Json busy = Json::object();
  for (const Input& x : in) {
    const Json roles = x.j.value("busy", Json::object());
    for (const auto& [role, b] : roles.items()) {
      Json& r = busy[role];
      if (r.is_null()) r = Json::object();
      r["busy_s"] = r.value("busy_s", 0.0) + b.value("busy_s", 0.0);
      r["span_s"] = r.value("span_s", 0.0) + b.value("span_s", 0.0);
      r["fraction"] = r["span_s"].get<double>() > 0
                          ? r["busy_s"].get<double>() / r["span_s"].get<double>()
                          : 0.0;
    }
  }
  out["busy"] = busy;
  const double len = in[0].j.value("interval_s", 0.0);
  out["intervals"] = len > 0 ? merge_intervals(in, base, len) : Json::array();

  if (!a.json.empty()) write_json_file(a.json, out);
  if (!a.hdr_log.empty()) {
    std::vector<IntervalRecord> recs;
    for (const auto& iv : out["intervals"]) {
      IntervalRecord r = interval_from_json(iv, "merged");
      r.start_ns = uint64_t(iv["start_s"].get<double>() * 1e9 + 0.5);
      r.end_ns = uint64_t(iv["end_s"].get<double>() * 1e9 + 0.5);
      recs.push_back(std::move(r));
    }
    write_hdr_log_file(a.hdr_log,
                       "touchstone merge of " + std::to_string(in.size()) + " results, --mode " +
                           mode + ": latency in nanoseconds",
                       base, recs);
  }
  if (a.json != "-") {
    std::printf("merged %zu results, mode %s, over %.1f s (%s):\n", in.size(), mode.c_str(),
                end - base, ok ? "all ok" : "not all ok");
    for (const Input& x : in)
      std::printf("  %-24s %s, started %s, %.1f s%s\n", x.path.c_str(),
                  x.j.value("host", "?").c_str(), x.j.value("started", "?").c_str(),
                  x.j.value("duration_s", 0.0), x.j.value("ok", false) ? "" : ", failed");
    for (const char* k : {"responses_ok", "requests_lost", "lost", "syns_sent", "syn_acks"})
      if (out.contains(k) && out[k].is_number())
        std::printf("  %-14s %llu\n", k, (unsigned long long)out[k].get<uint64_t>());
    if (out.contains("connections") && out["connections"].is_object())
      std::printf("  %-14s %llu established, %llu failed\n", "connections",
                  (unsigned long long)out["connections"].value("established", uint64_t(0)),
                  (unsigned long long)out["connections"].value("failed", uint64_t(0)));
    for (const char* k : {"rps", "cps", "syn_rate"})
      if (out.contains(k) && out[k].is_number())
        std::printf("  %-14s %s/s\n", k, si(out[k].get<double>()).c_str());
    for (const char* k : {"latency_histogram", "syn_ack_latency_histogram"})
      if (out.contains(k)) {
        const util::Histogram h = histogram_from_json(out[k], "merged");
        if (h.count()) std::printf("  latency        %s\n", percentiles_line(h).c_str());
      }
    if (!failure.empty()) std::printf("  failures: %s\n", failure.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace ts::app
