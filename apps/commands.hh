// The subcommands' arguments and entry points (main.cc wires them to CLI11).
#pragma once

#include <string>

#include "apps/runtime.hh"
#include "apps/workload_run.hh"
#include "workload/server.hh"
#include "workload/stateless.hh"

namespace ts::app {

// Connection slots and ring memory of an endpoint (serve and gen).
struct PoolArgs {
  std::string max_conns = "65536";
  std::string buffer_memory = "0";  // 0: no limit
  std::string cc = "cubic";         // congestion control (--cc list)
  bool no_sack = false;
  bool pacing = false;              // --pacing (docs/congestion.md)
  bool no_gro = false;              // --no-gro (docs/performance.md)
  bool no_tso = false;              // --no-tso (docs/performance.md)
  std::string sndbuf, rcvbuf;       // --sndbuf, --rcvbuf; empty: the default (docs/performance.md)
};

// Defences (docs/defences.md): SYN cookies for listeners, and when
// connections are reclaimed under pressure.
struct DefenceArgs {
  std::string syncookies = "auto";
  std::string persist_reclaim = "60s";
  std::string stall_reclaim = "300s";
};

// TCP Fast Open and where the FIN goes (docs/fastopen.md).
struct FastOpenArgs {
  bool tfo = false;
  std::string pending = "1024";   // listeners: Fast Open connections not yet established
  bool replay_guard = false;      // listeners
  bool separate_fin = false;      // serve, gen: the FIN in a segment of its own
  std::string separate_fin_side;  // demo: gen, serve or both
};

struct ServeArgs {
  CommonArgs common;
  InterfaceArgs iface;
  std::string app;         // echo, discard, rr, http; empty: ARP and ICMP only
  std::string listen;      // port; default by app
  std::string http_root;   // http: files from here
  std::string http_size = "1K";  // http: generated body size without --http-root
  std::string req_size = "64", resp_size = "64";  // rr
  std::string upstream;    // dns: the UDP resolver, A.B.C.D[:PORT]
  std::string backend;     // stateless-http: the HTTP server pages come from, A.B.C.D:PORT
  std::string upstream_timeout = "2s";  // dns
  std::string inflight = "4096";        // dns: queries upstream at once per core
  std::string fallback = "reset";       // dns, stateless-http: reset or stateful
  PoolArgs pools;
  DefenceArgs defences;
  FastOpenArgs fastopen;
};

struct GenArgs {
  CommonArgs common;
  InterfaceArgs iface;
  WorkloadArgs work;
  std::string target;
  std::string source_ips;    // FIRST[-LAST]: more local addresses for active opens
  std::string source_ports = "32768-60999";
  std::string start_at;      // the run starts at this wall-clock time
  std::string config;        // --config FILE.toml
  std::vector<MixEntry> mix; // its [[workload]] tables: a traffic mix
  PoolArgs pools;
  DefenceArgs defences;
  FastOpenArgs fastopen;
};

struct DemoArgs {
  CommonArgs common;
  WorkloadArgs work;
  // split: half the cores generate, half serve; paired: every core runs a
  // generator and a server side by side (for measuring per-core scaling).
  std::string layout = "split";
  bool stateless = false;  // --mode http against serve --app stateless-http
  std::string mtu = "1500";  // the ring link's MTU (up to 64000, as loopback's 64 KB)
  bool no_stack = false;     // the link's own rate: frames reflected, no TCP/IP
  DefenceArgs defences;
  PoolArgs pools;  // the server side's (the client's are sized for --conns)
  FastOpenArgs fastopen;
};

struct SimArgs {
  std::string scenario;
  std::string cc = "cubic";
  bool no_sack = false;
  bool pacing = false;              // --pacing (docs/congestion.md)
  std::string seed = "1";
  std::string bytes;
  std::string json;
  std::string trace;  // PREFIX: PREFIX.pcap and PREFIX.txt of every link's frames
  bool list = false;
  // The lab (sim --experiment; docs/congestion.md).
  std::string experiment;
  std::string runs = "10";
  std::string plot;            // DIR for PNG plots
  std::string against = "reno";
  std::string jobs;            // threads; default: every core
  std::string duration_scale;  // empty: 1
  Given given;
};

struct StatsArgs {
  std::string what;        // empty: counters (and connections); "hostcache"
  std::string pid;         // empty: the only running instance
  std::string socket;      // a telemetry socket path instead of searching
  bool connections = false;
  std::string max_connections = "10000";
  std::string watch = "1s";  // with --watch: the interval
  bool json = false;
  bool prometheus = false;
  Given given;
};

struct MergeArgs {
  std::vector<std::string> inputs;  // JSON results of gen, demo or merge
  std::string json;                 // the merged result
  std::string hdr_log;              // its intervals' latency as an HdrHistogram log
};

struct PlotArgs {
  std::vector<std::string> inputs;
  std::string output;  // FILE.png
  std::string title;
};

// Every PoolArgs flag into the TCP layer's configuration (serve, gen).
void apply_pool_args(const PoolArgs& a, stack::TcpLayerConfig& t);
// --max-conns (pools, flow table and timer wheel) and --buffer-memory (ring
// storage all connections may hold) alone (demo's server, whose other
// settings demo decides per side).
void apply_pool_limits(const PoolArgs& a, stack::TcpLayerConfig& t);
// --sndbuf and --rcvbuf (4K to 256M) into a connection's configuration; each
// one not given leaves `t`'s.
void apply_buffer_args(const PoolArgs& a, tcp::TcpConfig& t);
// --syncookies, --persist-reclaim-after and --stall-reclaim-after into the
// TCP layer's configuration.
void apply_defence_args(const DefenceArgs& a, stack::TcpLayerConfig& t);
// --tfo (and, for listeners, --tfo-pending and --tfo-replay-guard) and
// --separate-fin into the TCP layer's configuration; `separate_fin` is
// whether this side sends its FIN alone (demo decides it per side).
void apply_fastopen_args(const FastOpenArgs& a, const Given& given, bool separate_fin,
                         stack::TcpLayerConfig& t);

int run_serve(const ServeArgs& a);
int run_stats(const StatsArgs& a);
// The --app flags of serve (and demo's server): checked, files loaded.
workload::ServerConfig plan_server(const ServeArgs& a, workload::FileIndex& files);
// The server's lines of a summary (serve's, and demo's server side).
std::string server_summary(const workload::ServerStats& s, workload::ServerApp app);
// The lines of a stateless server's summary (serve's, and demo --stateless).
std::string stateless_summary(const workload::StatelessStats& s, workload::ServerApp app);
int run_sim(const SimArgs& a);
// sim --experiment: the congestion-control lab.
int run_lab_experiment(const SimArgs& a);
// --cc list: the congestion-control algorithms, one a line; exit status 0.
int print_cc_list();
// --cc and --no-sack into a connection's settings (a clear error for a name
// that is not an algorithm).
void apply_cc_args(const std::string& cc, bool no_sack, bool pacing, tcp::TcpConfig& t);
int run_gen(const GenArgs& a);
// touchstone merge: many generators' results as one (docs/distributed.md).
int run_merge(const MergeArgs& a);
// touchstone plot: results over time and their latency spectrum, as a PNG.
int run_plot(const PlotArgs& a);
int run_demo(const DemoArgs& a);

}  // namespace ts::app
