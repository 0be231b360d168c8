// The subcommands' arguments and entry points (main.cc wires them to CLI11).
#pragma once

#include <string>

#include "apps/ping_run.hh"
#include "apps/runtime.hh"
#include "workload/server.hh"

namespace ts::app {

struct ServeArgs {
  CommonArgs common;
  InterfaceArgs iface;
  std::string app;         // echo, discard, rr, http; empty: ARP and ICMP only
  std::string listen;      // port; default by app
  std::string http_root;   // http: files from here
  std::string http_size = "1K";  // http: generated body size without --http-root
  std::string req_size = "64", resp_size = "64";  // rr
  std::string max_conns = "65536";
  std::string buffer_memory = "0";
};

struct GenArgs {
  CommonArgs common;
  InterfaceArgs iface;
  WorkloadArgs work;
  std::string target;
  std::string source_ips;    // FIRST[-LAST]: more local addresses for active opens
  std::string source_ports = "32768-60999";
  std::string max_conns = "65536";
  std::string buffer_memory = "0";
};

struct DemoArgs {
  CommonArgs common;
  WorkloadArgs work;
};

struct SimArgs {
  std::string scenario;
  std::string cc = "cubic";
  std::string seed = "1";
  std::string bytes;
  std::string json;
  bool list = false;
};

struct StatsArgs {
  int pid = 0;             // 0: the only running instance
  std::string socket;      // a telemetry socket path instead of searching
  bool connections = false;
  size_t max_connections = 10000;
  bool json = false;
};

// --max-conns: connection slots of the endpoint (pools, flow table, timers).
uint32_t parse_max_conns(const std::string& text);
// --buffer-memory: bytes of ring storage all connections may hold (0: no limit).
size_t parse_buffer_memory(const std::string& text);

int run_serve(const ServeArgs& a);
int run_stats(const StatsArgs& a);
// The --app flags of serve (and demo's server): checked, files loaded.
workload::ServerConfig plan_server(const ServeArgs& a, workload::FileIndex& files);
int run_sim(const SimArgs& a);
int run_gen(const GenArgs& a);
int run_demo(const DemoArgs& a);

}  // namespace ts::app
