// Every workload mode as gen and demo run it (docs/architecture.md,
// "Workload modes"): the flags checked into one plan, the loop on every core
// with a progress line per interval, the summary and the JSON results
// (docs/json.md).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/runtime.hh"
#include "workload/workload.hh"

namespace ts::app {

struct WorkloadArgs {
  std::string mode = "rr";
  std::string conns = "1"; // closed loop: requests in flight (TCP modes: connections)
  std::string rate;        // open loop: requests per second
  std::string ramp;        // the rate (closed loop: the connections) reached over this
  std::string steps;       // open loop: RATE:DUR,RATE:DUR,... instead of --rate
  std::string warmup;      // excluded from the results
  std::string requests;    // stop after this many
  std::string window;      // TCP: the most handshakes in flight
  std::string size = "56"; // ping payload bytes
  std::string req_size = "64", resp_size = "64";  // cps, rr
  std::string path = "/";  // http
  std::string method;      // http: GET (POST with --body-size)
  std::vector<std::string> headers;  // http: "Name: value"
  std::string body_size;   // http
  std::string paths;       // http: a file of paths
  std::string path_order = "turn";  // http, with --paths: turn or random
  bool reverse = false;    // bulk: the target sends
  bool bidir = false;      // bulk: both send
  std::string read_rate;   // slowread: bytes a second each connection reads
  std::string legit_conns; // synflood: cps connections at a time beside the flood
  bool close = false;      // http: one request per connection, "Connection: close"
  std::string cps_close = "request";  // cps: the FIN with the request, or after the response
  std::string qname;       // dns: the name asked (example.test by default)
  std::string qnames;      // dns: a file of names
  bool dns_tcp = false;    // dns: over TCP, a connection per query
  bool dns_keepalive = false;  // dns: over TCP, many queries per connection
  std::string timeout = "1s";
  std::string json;        // write results here
  std::string hdr_log;     // write the interval histograms here (HdrHistogram's log)
};

// One [[workload]] table of gen --config (apps/config_file.hh).
struct MixEntry {
  std::string name;
  std::string cores;   // "70%", "1", or empty: an equal part of what is left
  std::string target;  // empty: the run's --target
  WorkloadArgs work;
  int line = 0;        // where the table starts (for errors)
  Given given;         // the workload flags it set (file or command line)
  std::set<std::string, std::less<>> workload_flags;  // every flag a table may set
};

struct WorkloadPlan {
  workload::GenConfig gen;
  uint64_t duration_ns = 0;  // 0: until the request count or a signal
  uint64_t warmup_ns = 0;    // the first part of the run, left out of the results
  uint64_t progress_ns = 1'000'000'000;  // 0: no progress lines
  bool quiet = false;                    // the summary only (no progress, no counters)
  std::string json_path;
  std::string hdr_log_path;
  MetricsFileSpec metrics;  // --metrics-file
  std::optional<glue::CaptureConfig> pcap;  // --pcap
  bool fast_open = false;  // --tfo (the connections' TcpConfig has it; shown in the results)
  std::string cc = "cubic";  // --cc and --no-sack, as the connections have them (the results)
  bool sack = true;
  bool pacing = false;
  uint32_t sndbuf = 0, rcvbuf = 0;  // gen's connections' buffers (the results)
  const workload::ModeInfo& mode() const { return workload::mode_info(gen.mode); }
  // The results' intervals: the progress interval, or a second when there
  // are no progress lines; none when nothing records them.
  uint64_t interval_ns() const {
    if (json_path.empty() && hdr_log_path.empty()) return 0;
    return progress_ns ? progress_ns : 1'000'000'000;
  }
  // The server to load (`port`: TCP modes).
  void aim(wire::Ipv4Addr target, uint16_t port) {
    gen.target = target;
    gen.port = port;
    gen.host = target.str();
  }
};

// Checks the workload flags; a bad value, or a flag the mode does not take,
// is a usage error (exit 2). `mtu` bounds ping's payload. The target comes
// from aim().
WorkloadPlan plan_workload(const WorkloadArgs& w, const CommonArgs& c, uint16_t mtu);

// --steps: "RATE:DUR,RATE:DUR,..." (a rate of 0 pauses); a usage error
// unless every step reads and one has a positive rate.
std::vector<workload::RateStep> parse_steps(const std::string& text);
// Whether `flag` (a workload flag: "--req-size") applies to mode `m`.
bool mode_takes(workload::GenMode m, std::string_view flag);

// Core i's share of the workload when `cores` cores run it: connections,
// rate and request count divided (the remainder to the first cores).
workload::GenConfig core_share(const workload::GenConfig& g, unsigned core, unsigned cores);
// A usage error when the workload cannot be divided among `cores` cores.
void check_core_share(const WorkloadPlan& plan, unsigned cores);

// What one interval of a run did, every core's summed (the JSON's
// "intervals", docs/json.md).
struct IntervalRecord {
  uint64_t start_ns = 0, end_ns = 0;  // since the run's start
  bool warmup = false;
  uint64_t requests_sent = 0, responses_ok = 0, errors = 0, conns_established = 0;
  uint64_t bytes_acked = 0, bytes_rx = 0, retransmitted = 0;
  uint64_t open = 0;  // a gauge, at the interval's end
  util::SparseHistogram latency;
  // Adds another run's interval over the same time: counts, the gauge, the
  // warm-up mark (not the times, not the latency).
  void add_counts(const IntervalRecord& o) {
    warmup = warmup || o.warmup;
    requests_sent += o.requests_sent;
    responses_ok += o.responses_ok;
    errors += o.errors;
    conns_established += o.conns_established;
    bytes_acked += o.bytes_acked;
    bytes_rx += o.bytes_rx;
    retransmitted += o.retransmitted;
    open += o.open;
  }
};

struct WorkloadResult {
  double elapsed_s = 0;          // measured: from the end of the warm-up
  bool ended_in_warmup = false;  // then elapsed_s and the counts are the warm-up's
  workload::GenStats stats;  // every core's, merged
  double start_unix_s = 0;   // the run's start on the wall clock
  std::vector<IntervalRecord> intervals;  // when plan.interval_ns()
};

// The part of a run one core does: its workload, and the endpoints it polls
// (the workload's, and in demo's paired layout a server's too).
struct WorkloadCore {
  workload::Workload* work = nullptr;
  std::vector<Endpoint*> eps;
  size_t group = 0;  // run_workloads: which workload of a traffic mix
  void poll(uint64_t now) const {
    for (Endpoint* e : eps) e->poll(now);
  }
};

// Runs cores[i] on lcores[i], cores[0] on the calling core, until every
// workload is done, the duration ends or a signal arrives; then each core
// lets what is in flight complete (Workload::drain_ns), closes what is open
// and lets it finish for up to half a second. Core 0 prints the progress
// line, summed over the cores from snapshots they take when asked (nothing
// is shared per packet).
WorkloadResult run_workload(std::vector<WorkloadCore>& cores, const std::vector<unsigned>& lcores,
                            const WorkloadPlan& plan, const glue::TscClock& clock);
// One workload of a traffic mix (gen --config): its name and plan. Every
// plan carries the run's own settings (duration, warm-up, progress) alike.
struct WorkloadGroup {
  std::string name;  // empty for a run of one workload
  const WorkloadPlan* plan = nullptr;
};
// run_workload for a traffic mix: each core runs the group of its
// WorkloadCore; one progress line per group and interval; a result per group.
std::vector<WorkloadResult> run_workloads(std::vector<WorkloadCore>& cores,
                                          const std::vector<unsigned>& lcores,
                                          const std::vector<WorkloadGroup>& groups,
                                          const glue::TscClock& clock);
// "closed loop, 16 connections", "open loop at 10.0k req/s, at most 16 connections".
std::string pacing_text(const WorkloadPlan& plan);
void print_summary(const char* title, const WorkloadPlan& plan, const WorkloadResult& r);
// One interval as the JSON's "intervals" hold it (docs/json.md).
nlohmann::ordered_json interval_json(const IntervalRecord& iv);
// An HdrHistogram interval log of the intervals' latency (docs/json.md).
void write_hdr_log_file(const std::string& path, const std::string& what, double start_unix_s,
                        const std::vector<IntervalRecord>& intervals);
// Several runs' intervals in one HdrHistogram log, each under its tag
// (a traffic mix: a tag per workload).
struct TaggedIntervals {
  std::string tag;
  const std::vector<IntervalRecord>* intervals = nullptr;
};
void write_hdr_log_tagged(const std::string& path, const std::string& what, double start_unix_s,
                          const std::vector<TaggedIntervals>& sets);
// The JSON results (docs/json.md), with the counters of each role ("gen",
// "serve") and the failure (empty: none).
nlohmann::ordered_json result_json(const std::string& command, const WorkloadPlan& plan,
                                   const WorkloadResult& r,
                                   const std::vector<RoleCounters>& counters,
                                   const std::string& failure);
// The --hdr-log file, and then the JSON results (docs/json.md), with the counters of each role ("gen",
// "serve") and the failure (empty: none).
void write_json(const std::string& command, const WorkloadPlan& plan, const WorkloadResult& r,
                const std::vector<RoleCounters>& counters,
                const std::string& failure);
// 0 when at least one request was answered correctly and none failed, else
// 1 (bulk: when data was acknowledged and no connection failed; ping: when a
// reply came back and none was corrupt).
int exit_status(const WorkloadPlan& plan, const WorkloadResult& r);
// Why a run failed, in one line naming the cause (nothing listens, no ARP
// reply, timeouts, bad responses...), from its results and the generating
// endpoints' counters `c`; empty when it did not fail.
std::string failure_cause(const WorkloadPlan& plan, const WorkloadResult& r,
                          const stack::Counters& c);

}  // namespace ts::app
