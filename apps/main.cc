// touchstone: a kernel-bypass TCP/IP stack on DPDK and the tools built on it.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>

#include "apps/commands.hh"
#include "apps/config_file.hh"
#include "apps/report.hh"
#include "tcp/cc/registry.hh"
#include "workload/mode.hh"

using namespace ts::app;

namespace {

const char* kPortHelp =
    "Port to use: af_xdp:IFACE, af_packet:IFACE, tap:NAME, memif:SOCKET[,role=client], "
    "pci:BDF; extra ,key=value pairs go to the DPDK driver";

void add_common(CLI::App* app, CommonArgs& c, bool with_port) {
  if (with_port) app->add_option("--port", c.port, kPortHelp)->required()->type_name("SPEC");
  app->add_option("--lcores", c.lcores,
                  "Polling cores: a count N (the last N CPUs this process may use) or a list "
                  "of CPUs and ranges (1,3 or 2-3; one CPU as 3-3). Each core polls "
                  "its own port queue and owns its connections; where the port has no RSS or "
                  "fewer queues than cores, packets are steered between cores in software. "
                  "Default: 1 for serve and gen (leaving CPU 0 to the kernel), 2 for demo")
      ->type_name("N|LIST");
  app->add_option("--eal", c.eal,
                  "Extra EAL arguments, checked against DPDK 22.11's EAL options before it "
                  "starts, e.g. --eal \"--log-level=*:debug\" (cores, devices and the file "
                  "prefix are touchstone's to set)")
      ->type_name("ARGS");
  app->add_flag("--no-huge", c.no_huge,
                "Never use hugepages. By default touchstone takes free hugepages of the "
                "default size when the machine has some reserved (HugePages_Free in "
                "/proc/meminfo), and otherwise runs on 1 GB of ordinary memory");
  app->add_option("--impair", c.impair,
                  "Fault injection on the port, per direction and seeded: "
                  "[rx:|tx:]loss=P,dup=P,reorder=P,corrupt=P,delay=DUR,seed=N "
                  "(P as 0.01 or 1%; without rx:/tx: both directions); repeatable")
      ->type_name("SPEC");
  app->add_option("--duration", c.duration,
                  "Stop after this long (10s, 500ms, 2m, 1h; a plain number is seconds); "
                  "leave it out to run until Ctrl-C")
      ->type_name("DUR");
  app->add_option("--progress", c.progress, "Interval of the progress line; 0 for none")
      ->type_name("DUR")
      ->capture_default_str();
  app->add_flag("--quiet", c.quiet, "No progress lines and no counter dump: the summary only");
  app->add_option("--metrics-file", c.metrics_file,
                  "Rewrite FILE atomically every --progress interval (every second with "
                  "--quiet) with every counter and gauge in Prometheus's text format, for "
                  "node_exporter's textfile collector (docs/json.md)")
      ->type_name("FILE");
  app->add_option("--pcap", c.pcap,
                  "Capture every frame the port receives and sends to FILE (pcap, nanosecond "
                  "timestamps; demo: gen's side), written by a thread of its own: frames it "
                  "cannot keep up with are counted (pcap_dropped), never waited for")
      ->type_name("FILE");
  app->add_option("--pcap-snaplen", c.pcap_snaplen, "With --pcap: bytes kept of each frame (64 to 262144; default: all)")
      ->type_name("N");
  app->add_option("--pcap-count", c.pcap_count, "With --pcap: stop capturing after N frames")
      ->type_name("N");
  app->add_option("--tx-batch", c.tx_batch,
                  "Frames a core gathers before handing them to the port (1 to 32); what is "
                  "left goes at the end of every poll. Default: 8 for the in-memory ring and "
                  "memif, whose peer polls the other end and starts on the first frames while "
                  "the rest are built; 32 for the rest, where each handover costs a doorbell or "
                  "a system call (docs/performance.md)")
      ->type_name("N");
  app->add_option("--hostcache", c.hostcache,
                  "Host-pair cache (RFC 9040): off; temporal (new connections start from what "
                  "earlier ones to the host measured: RTT, hence the first RTO, and ssthresh); "
                  "ensemble (also a fair share of the open connections' window)")
      ->type_name("POLICY")
      ->capture_default_str();
}

// --cc and --no-sack, for every command that runs TCP.
void add_cc(CLI::App* app, std::string& cc, bool& no_sack, bool& pacing) {
  app->add_option("--cc", cc,
                  "Congestion control: " + ts::tcp::cc_names() +
                      " (--cc list describes them); the loss recovery comes with it "
                      "(docs/congestion.md)")
      ->type_name("NAME|list")
      ->capture_default_str();
  app->add_flag("--no-sack", no_sack,
                "Do not offer or accept SACK: recovery is the algorithm's own (Tahoe's, "
                "Reno's, NewReno's) instead of RFC 6675's");
  app->add_flag("--pacing", pacing,
                "Pace data at the rate the algorithm sets (BBR always paces), else at 2 (slow "
                "start) or 1.2 times cwnd per smoothed RTT, as Linux's fq does; each "
                "connection's next send time waits on the timer wheel");
}

void add_pools(CLI::App* app, PoolArgs& p) {
  app->add_option("--max-conns", p.max_conns,
                  "Connection slots: the connection pool, flow table and timer wheel are sized "
                  "from this; beyond it connections are refused and counted (gen: --conns may "
                  "not exceed it)")
      ->type_name("N")
      ->capture_default_str();
  app->add_option("--buffer-memory", p.buffer_memory,
                  "Ring storage all connections may hold together (512M, 4G; 0: no limit); "
                  "beyond it rings are refused and counted (tcp_buffer_refused)")
      ->type_name("BYTES")
      ->capture_default_str();
  add_cc(app, p.cc, p.no_sack, p.pacing);
  app->add_option("--sndbuf", p.sndbuf,
                  "Each connection's send buffer (16K, 4M; 4K to 256M): at most this much data "
                  "unacknowledged or waiting. Default 256K; demo --mode bulk: 4M, or 64M "
                  "shared by --conns when that is less (at least 256K). Ring storage is taken "
                  "only while data waits (docs/performance.md)")
      ->type_name("BYTES");
  app->add_option("--rcvbuf", p.rcvbuf,
                  "Each connection's receive buffer, which bounds the window it advertises "
                  "(scaled: RFC 7323); default as --sndbuf")
      ->type_name("BYTES");
  app->add_flag("--no-gro", p.no_gro,
                "Hand TCP each received segment as it arrived, instead of merging a receive "
                "burst's in-order data segments of one connection into one (receive "
                "coalescing, the stack's own GRO: TCP's per-segment work once per run; "
                "docs/performance.md)");
  app->add_flag("--no-tso", p.no_tso,
                "Send every TCP segment as a frame of its own, even where the port offers "
                "segmentation offload (a NIC with TSO, DPDK's TAP port, and the in-memory ring "
                "port, which passes a frame of up to 64,000 bytes of whole segments on whole, as "
                "Linux's veth does; docs/performance.md)");
}

void add_defences(CLI::App* app, DefenceArgs& d, bool listens) {
  if (listens)
    app->add_option("--syncookies", d.syncookies,
                    "SYN cookies (RFC 4987): auto (when a listener's backlog or the half-open "
                    "table is full), always (no half-open state at all), never (SYNs beyond the "
                    "backlog are dropped)")
        ->type_name("auto|always|never")
        ->capture_default_str();
  app->add_option("--persist-reclaim-after", d.persist_reclaim,
                  "Under memory or slot pressure, reset connections whose peer's window has held "
                  "them back this long with under a segment a second of progress (0: never)")
      ->type_name("DUR")
      ->capture_default_str();
  app->add_option("--stall-reclaim-after", d.stall_reclaim,
                  "Under pressure, then reset connections whose live peer has made no progress "
                  "this long while data waits (0: never)")
      ->type_name("DUR")
      ->capture_default_str();
}

// Fast Open and FIN placement (docs/fastopen.md); `listens`: serve and demo.
void add_fastopen(CLI::App* app, FastOpenArgs& f, bool listens, bool demo) {
  app->add_flag("--tfo", f.tfo,
                demo ? "TCP Fast Open on both sides (RFC 7413): the first connection gets a "
                       "cookie, later ones carry their request in the SYN and get the answer "
                       "with the SYN-ACK (cps, rr, http)"
                : listens
                    ? "TCP Fast Open (RFC 7413): a SYN asking for a cookie gets one; a SYN with "
                      "a valid cookie hands its data to the application at once, and the "
                      "SYN-ACK carries the first segment of the answer"
                    : "TCP Fast Open (RFC 7413; cps, rr, http): the first connection to the "
                      "target asks for a cookie (kept in the host-pair cache); later ones put "
                      "their request in the SYN. A server that drops such SYNs is left alone for "
                      "10 minutes");
  if (listens) {
    app->add_option("--tfo-pending", f.pending,
                    "With --tfo: at most this many connections per listener whose SYN data was "
                    "taken before their handshake completed (RFC 7413 5.1); beyond it the data "
                    "waits for the handshake")
        ->type_name("N")
        ->capture_default_str();
    app->add_flag("--tfo-replay-guard", f.replay_guard,
                  "With --tfo: remember the SYN data delivered in the last two minutes (client, "
                  "ISN, data hash; 16384 per core) and never deliver a repeat (Fast Open is for "
                  "idempotent requests)");
  }
  if (demo)
    app->add_option("--separate-fin", f.separate_fin_side,
                    "The FIN in a segment of its own, as the BSD stacks of T/TCP's day sent it, "
                    "on one side or both (gen, serve, both); by default it rides on the last "
                    "data segment")
        ->type_name("SIDE");
  else
    app->add_flag("--separate-fin", f.separate_fin,
                  "The FIN in a segment of its own, as the BSD stacks of T/TCP's day sent it; by "
                  "default it rides on the last data segment when the application has closed");
}

void add_interface(CLI::App* app, InterfaceArgs& i) {
  app->add_option("--ip", i.ip, "Our address and prefix, e.g. 10.0.0.2/24")
      ->required()
      ->type_name("A.B.C.D/LEN");
  app->add_option("--gw", i.gw, "Gateway for destinations outside the prefix")
      ->type_name("A.B.C.D");
  app->add_option("--vlan", i.vlan, "802.1Q VLAN ID to tag and accept (default untagged)")
      ->type_name("ID");
}

void add_workload(CLI::App* app, WorkloadArgs& w) {
  std::string modes;
  for (const auto& m : ts::workload::modes())
    modes += std::string(modes.empty() ? "" : ", ") + m.name + " (" + m.help + ")";
  app->add_option("--mode", w.mode, "Workload: " + modes)
      ->type_name("MODE")
      ->capture_default_str();
  app->add_option("--conns", w.conns,
                  "Closed loop: requests kept in flight (for TCP modes: connections). With "
                  "--rate: the most connections (ping: requests) open at once")
      ->type_name("N")
      ->capture_default_str();
  app->add_option("--window", w.window,
                  "TCP modes: the most handshakes in flight (1 to 64K; default 256 with --rate, "
                  "what a veth's XDP ring holds, and 1024 in the closed loop, which --conns "
                  "bounds). It starts at 16, grows with each answered SYN and halves when a SYN "
                  "is retransmitted or, with --rate, when answers queue; with --rate in cps a "
                  "connection holds its place until its response. Raise it for paths that hold "
                  "more (a NIC's ring, a long round trip)")
      ->type_name("N");
  app->add_option("--rate", w.rate,
                  "Open loop: requests per second (1000, 2.5M; cps: connections per second); "
                  "latency counts from the intended send time; --conns caps the connections")
      ->type_name("R");
  app->add_option("--ramp", w.ramp,
                  "Rise linearly to the load over DUR: with --rate, the rate from 0; without, "
                  "the connections (ping: requests in flight) from 1 to --conns")
      ->type_name("DUR");
  app->add_option("--steps", w.steps,
                  "Open loop in steps: RATE:DUR,RATE:DUR,... (1000:10s,5000:10s; a rate of 0 "
                  "pauses); the run lasts their sum (instead of --rate and --duration)")
      ->type_name("LIST");
  app->add_option("--warmup", w.warmup,
                  "Leave the first DUR out of the results (shown in the progress lines, "
                  "marked); needs --duration or --steps")
      ->type_name("DUR");
  app->add_option("--requests", w.requests, "Stop after this many requests")->type_name("N");
  app->add_option("--req-size", w.req_size, "cps, rr: request bytes (64, 1K)")
      ->type_name("BYTES")
      ->capture_default_str();
  app->add_option("--resp-size", w.resp_size,
                  "cps, rr: response bytes expected per request (an echo server answers "
                  "--req-size; serve --app rr answers its own --resp-size); demo --mode http: "
                  "the generated body's size")
      ->type_name("BYTES")
      ->capture_default_str();
  app->add_option("--path", w.path, "http: the path to request")
      ->type_name("PATH")
      ->capture_default_str();
  app->add_option("--paths", w.paths,
                  "http: request the paths listed in FILE (one per line; # comments), in turn "
                  "or at random (--path-order)")
      ->type_name("FILE");
  app->add_option("--path-order", w.path_order, "http, with --paths: turn or random")
      ->type_name("ORDER")
      ->capture_default_str();
  app->add_option("--method", w.method,
                  "http: GET, HEAD, POST, PUT, DELETE, OPTIONS or PATCH (default GET; POST with "
                  "--body-size); serve --app http answers GET, HEAD and POST")
      ->type_name("METHOD");
  app->add_option("--header", w.headers,
                  "http: an extra request header 'Name: value' (repeatable; a Host header "
                  "replaces the default one)")
      ->type_name("HEADER");
  app->add_option("--body-size", w.body_size, "http: a request body of this many bytes")
      ->type_name("BYTES");
  app->add_flag("--reverse", w.reverse,
                "bulk: the target sends and we receive (against serve --app source, or any "
                "chargen server)");
  app->add_flag("--bidir", w.bidir, "bulk: both sides send at once (against serve --app source)");
  app->add_option("--read-rate", w.read_rate,
                  "slowread: bytes a second each connection reads, a byte at a time (0, the "
                  "default: none, the window stays shut)")
      ->type_name("BYTES");
  app->add_option("--legit-conns", w.legit_conns,
                  "synflood: this many legitimate cps connections at a time (connect, "
                  "--req-size request, --resp-size response, close) beside the flood, from "
                  "source ports apart from the flood's; their connections/s, failures and "
                  "latency are reported")
      ->type_name("N");
  app->add_option("--cps-close", w.cps_close,
                  "cps (and synflood's --legit-conns): when the client sends its FIN: 'request' "
                  "(the default: it half-closes with its request, so the FIN rides on the "
                  "request and the server's on its response: 5 segments a connection) or "
                  "'response' (it closes after reading the response: 7, as a client that "
                  "does not half-close)")
      ->type_name("WHEN");
  app->add_flag("--close", w.close,
                "http: one request per connection, with 'Connection: close' (the HTTP form of "
                "cps, as wrk -H 'Connection: close')");
  app->add_option("--qname", w.qname, "dns: the name to ask an A record for (default example.test)")
      ->type_name("NAME");
  app->add_option("--qnames", w.qnames,
                  "dns: ask for the names listed in FILE in turn (one per line; # comments)")
      ->type_name("FILE");
  app->add_flag("--tcp", w.dns_tcp,
                "dns: over TCP (RFC 7766 framing), one query per connection, as dig +tcp asks");
  app->add_flag("--tcp-keepalive", w.dns_keepalive,
                "dns: over TCP, many queries per connection, one at a time on each");
  app->add_option("--size", w.size, "ping: ICMP payload bytes")
      ->type_name("BYTES")
      ->capture_default_str();
  app->add_option("--timeout", w.timeout, "ping and dns over UDP: a request unanswered this long counts as lost (TCP modes "
                  "retransmit instead)")
      ->type_name("DUR")
      ->capture_default_str();
  app->add_option("--json", w.json,
                  "Write results as JSON to FILE (see docs/json.md); - for standard output, "
                  "the text then going to standard error")
      ->type_name("FILE");
  app->add_option("--hdr-log", w.hdr_log,
                  "Write each interval's latency histogram to FILE as an HdrHistogram interval "
                  "log (HistogramLogProcessor reads it; docs/json.md)")
      ->type_name("FILE");
}

void add_server(CLI::App* app, ServeArgs& s) {
  app->add_option("--app", s.app,
                  "TCP service: echo (every byte back; a request counted per --req-size bytes), "
                  "discard (read and drop), source (send as fast as the path allows, drop what "
                  "arrives: for gen --mode bulk --reverse or --bidir), rr (--resp-size bytes "
                  "for every --req-size bytes received), http (HTTP/1.1 GET, HEAD and POST, "
                  "keep-alive, pipelining; files from --http-root or a generated body of "
                  "--http-size); stateless-http and dns answer each one-segment request with "
                  "no connection state (docs/stateless.md): stateless-http like http, dns by "
                  "relaying DNS over TCP to the UDP resolver --upstream")
      ->type_name("APP");
  app->add_option("--listen", s.listen,
                  "TCP port (default: echo 7, discard 9, source 19, rr 9000, http and "
                  "stateless-http 80, dns 53)")
      ->type_name("PORT");
  app->add_option("--upstream", s.upstream,
                  "dns: the UDP resolver queries are relayed to (port 53 by default)")
      ->type_name("A.B.C.D[:PORT]");
  app->add_option("--backend", s.backend,
                  "stateless-http: fetch each page from this HTTP server over an ordinary "
                  "connection (the request as the client sent it) instead of --http-size or "
                  "--http-root")
      ->type_name("A.B.C.D:PORT");
  app->add_option("--upstream-timeout", s.upstream_timeout,
                  "dns, stateless-http --backend: a query or fetch not answered after this is "
                  "given up and its client reset")
      ->type_name("DURATION")
      ->capture_default_str();
  app->add_option("--inflight", s.inflight,
                  "dns, stateless-http --backend: queries or fetches in flight at once per core "
                  "(at most 65536); beyond it a request is dropped unacknowledged and the "
                  "client sends it again")
      ->type_name("N")
      ->capture_default_str();
  app->add_option("--fallback", s.fallback,
                  "dns, stateless-http: what happens to a request that does not fit one "
                  "segment (split, pipelined, an answer beyond the client's window): reset "
                  "the client, or stateful: an ordinary connection serves it")
      ->type_name("reset|stateful")
      ->capture_default_str();
  app->add_option("--http-root", s.http_root,
                  "http: serve the files below DIR (indexed and mapped at start; a directory "
                  "answers with its index.html)")
      ->type_name("DIR");
  app->add_option("--http-size", s.http_size, "http without --http-root: body bytes")
      ->type_name("BYTES")
      ->capture_default_str();
  app->add_option("--req-size", s.req_size, "rr: request bytes")
      ->type_name("BYTES")
      ->capture_default_str();
  add_pools(app, s.pools);
  app->add_option("--resp-size", s.resp_size, "rr: response bytes")
      ->type_name("BYTES")
      ->capture_default_str();
}

// The long names of the flags given to `cmd`.
void collect_given(CLI::App* cmd, Given& g) {
  for (const CLI::Option* o : cmd->get_options())
    if (o->count()) g.names.insert(o->get_name());
}

}  // namespace

int main(int argc, char** argv) {
  // Output piped into a program that exits early (head) must not kill the run
  // before its files are written: a write to the closed pipe fails instead.
  std::signal(SIGPIPE, SIG_IGN);
  set_command_line(argc, argv);
  CLI::App app{
      "touchstone: a kernel-bypass TCP/IP stack on DPDK, a user-level server and a traffic "
      "generator.\nRun 'touchstone demo' to see it work without a NIC; "
      "'touchstone COMMAND --help' explains each command."};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_line());
  app.footer(
      "Exit status: 0 success; 1 the run failed (no reply, corrupt replies, a device error); "
      "2 bad command line.");

  ServeArgs serve;
  auto* serve_cmd = app.add_subcommand(
      "serve",
      "A user-level TCP server on a DPDK port (--app echo|discard|source|rr|http|stateless-http|dns); "
      "answers ARP and ICMP "
      "echo too; prints counters on exit (Ctrl-C or --duration)");
  add_common(serve_cmd, serve.common, true);
  add_interface(serve_cmd, serve.iface);
  add_server(serve_cmd, serve);
  add_defences(serve_cmd, serve.defences, true);
  add_fastopen(serve_cmd, serve.fastopen, true, false);

  GenArgs gen;
  auto* gen_cmd = app.add_subcommand(
      "gen",
      "Traffic generator on a DPDK port: TCP connections/s, request/response, bulk and HTTP "
      "load (or ICMP echo), closed or open loop, with latency percentiles");
  add_common(gen_cmd, gen.common, true);
  add_interface(gen_cmd, gen.iface);
  gen_cmd->add_option("--target", gen.target, "Server to load: A.B.C.D:PORT (ping: A.B.C.D)")
      ->required()
      ->type_name("ADDR");
  add_workload(gen_cmd, gen.work);
  gen_cmd->add_option("--config", gen.config,
                      "Read flags from FILE.toml (keys: the long flag names; the command line "
                      "overrides them), and a traffic mix as [[workload]] tables: several "
                      "workloads at once, each on its share of the cores (docs/distributed.md)")
      ->type_name("FILE.toml");
  // With --config these may come from the file: checked after it is read.
  for (const char* f : {"--port", "--ip", "--target"}) gen_cmd->get_option(f)->required(false);
  gen_cmd->add_option("--start-at", gen.start_at,
                      "Start the run at this wall-clock time, after setting up (the port, ARP), "
                      "so that generators on many machines start together: "
                      "2026-12-05T10:00:00Z (UTC, or with +HH:MM), @UNIX_SECONDS, or +DUR from "
                      "now (docs/distributed.md)")
      ->type_name("TIME");
  gen_cmd->add_option("--source-ips", gen.source_ips,
                      "More local addresses (FIRST-LAST inside --ip's prefix) used in turn as "
                      "the source of connections: each adds a port range's worth of connections "
                      "per target; they answer ARP like --ip")
      ->type_name("RANGE");
  gen_cmd->add_option("--source-ports", gen.source_ports, "Local port range of connections")
      ->type_name("LO-HI")
      ->capture_default_str();
  add_pools(gen_cmd, gen.pools);
  add_defences(gen_cmd, gen.defences, false);
  add_fastopen(gen_cmd, gen.fastopen, false, false);

  DemoArgs demo;
  auto* demo_cmd = app.add_subcommand(
      "demo",
      "gen and serve in one process over an in-memory port (no NIC, no root, no hugepages); "
      "10 s by default; --impair applies to gen's side of the link");
  add_common(demo_cmd, demo.common, false);
  demo.work.conns = "16";  // before add_workload, so --help shows it as the default
  add_workload(demo_cmd, demo.work);
  demo_cmd->add_flag("--stateless", demo.stateless,
                     "--mode http: serve with --app stateless-http (no connection per client; "
                     "every answer ends its connection, so give --close)");
  demo_cmd
      ->add_option("--layout", demo.layout,
                   "How the cores are used: split (half run gen, half serve, joined queue "
                   "by queue) or paired (every core runs a gen and a serve side by side, "
                   "to measure per-core scaling)")
      ->type_name("split|paired")
      ->capture_default_str();
  demo_cmd
      ->add_option("--mtu", demo.mtu,
                   "The in-memory link's MTU, 576 to 64000: with 64000 segments carry up to "
                   "63,960 bytes, as on the kernel's loopback (MTU 64 KB), so bulk compares "
                   "like with like (docs/performance.md)")
      ->type_name("BYTES")
      ->capture_default_str();
  demo_cmd->add_flag(
      "--no-stack", demo.no_stack,
      "Measure the in-memory link itself, with no TCP/IP: each side sends every frame it "
      "receives straight back with the Ethernet addresses swapped (dpdk-testpmd's macswap), "
      "--conns frames of an rr request's size (--req-size) in flight, and the link's "
      "packets/s is reported: the limit that --mode rr's packets/s is a fraction of "
      "(docs/performance.md). Takes --duration, --conns, --req-size, --mtu, --lcores (1 or "
      "2), --json and --quiet");
  add_defences(demo_cmd, demo.defences, true);
  add_pools(demo_cmd, demo.pools);
  add_fastopen(demo_cmd, demo.fastopen, true, true);

  SimArgs sim;
  auto* sim_cmd = app.add_subcommand(
      "sim",
      "Run a scenario in the deterministic network simulator: real TCP stacks over simulated "
      "links with loss, reordering, duplication, corruption and queues");
  sim_cmd->add_option("--scenario", sim.scenario, "Scenario name (--list shows them)")
      ->type_name("NAME");
  add_cc(sim_cmd, sim.cc, sim.no_sack, sim.pacing);
  sim_cmd->add_option("--seed", sim.seed, "Seed: one seed always replays one run exactly")
      ->type_name("N")
      ->capture_default_str();
  sim_cmd->add_option("--bytes", sim.bytes, "Bytes per flow instead of the scenario's")
      ->type_name("SIZE");
  sim_cmd->add_option("--json", sim.json,
                      "Write the result as JSON to FILE (see docs/json.md); - for standard "
                      "output, the text then going to standard error")
      ->type_name("FILE");
  sim_cmd->add_option("--trace", sim.trace,
                      "Write every frame offered to every link to PREFIX.pcap (virtual time, "
                      "for tshark or Wireshark) and PREFIX.txt (one line per frame with what "
                      "the link did to it: sent, lost, queue-drop, corrupted, duplicated, "
                      "reordered)")
      ->type_name("PREFIX");
  sim_cmd->add_flag("--list", sim.list, "List the scenarios and the lab's experiments");
  sim_cmd->add_option("--experiment", sim.experiment,
                      "Run an experiment of the congestion-control lab instead of a scenario: "
                      "--runs seeded runs per algorithm of --cc A,B,... (default: the "
                      "experiment's own list), statistics per metric and Welch's t-test for "
                      "every pair (docs/congestion.md)")
      ->type_name("NAME");
  sim_cmd->add_option("--runs", sim.runs,
                      "--experiment: runs per algorithm; run i has seed --seed + i for every "
                      "algorithm, which also varies the flows' start times")
      ->type_name("N")
      ->capture_default_str();
  sim_cmd->add_option("--plot", sim.plot,
                      "--experiment: draw PNG plots with gnuplot into DIR (created if missing): "
                      "cwnd, throughput, RTT and queue over time of each algorithm's median run, a "
                      "box plot per metric, throughput against loss for random-loss")
      ->type_name("DIR");
  sim_cmd->add_option("--against", sim.against,
                      "--experiment friendliness: the algorithm each one competes with")
      ->type_name("NAME")
      ->capture_default_str();
  sim_cmd->add_option("--jobs", sim.jobs,
                      "--experiment: runs at once (default: one per core)")
      ->type_name("N");
  sim_cmd->add_option("--duration-scale", sim.duration_scale,
                      "--experiment: every run this factor as long (0.2: a fifth; quick looks "
                      "and tests; at least half a simulated second)")
      ->type_name("X");

  StatsArgs stats;
  auto* stats_cmd = app.add_subcommand(
      "stats",
      "Counters per core and the connection list (like ss), or the host-pair cache (like ip "
      "tcp_metrics), of a running serve, gen or demo, "
      "read from its DPDK telemetry socket; needs the same user as the instance");
  stats_cmd->add_option("section", stats.what,
                        "hostcache: list the host-pair cache's entries (like ip tcp_metrics) "
                        "instead of the counters")
      ->type_name("[hostcache]");
  stats_cmd->add_option("--pid", stats.pid, "The instance to read (default: the only one running)")
      ->type_name("PID");
  stats_cmd->add_option("--socket", stats.socket, "A telemetry socket path instead of searching")
      ->type_name("PATH");
  stats_cmd->add_flag("-c,--connections", stats.connections,
                      "Also list connections (like ss -ti): state, queues, addresses, RTT, cwnd, "
                      "bytes retransmitted, acknowledged and received, delivery rate over the "
                      "connection's life, the next timer");
  stats_cmd->add_option("--max-connections", stats.max_connections,
                        "With --connections: at most this many connections per core")
      ->type_name("N")
      ->capture_default_str();
  stats_cmd->add_option("--watch", stats.watch,
                        "Refresh every DUR (default 1s) in place, like watch(1), with each "
                        "counter's rate over the interval; with --json, one object per line")
      ->expected(0, 1)
      ->type_name("[DUR]");
  stats_cmd->add_flag("--json", stats.json, "Print JSON instead of text (see docs/json.md)");
  stats_cmd->add_flag("--prometheus", stats.prometheus,
                      "Print every counter and gauge in Prometheus's text exposition format "
                      "(touchstone_* names, role, lcore and direction labels; docs/json.md)");

  MergeArgs merge;
  auto* merge_cmd = app.add_subcommand(
      "merge",
      "One result from the JSON results of many gen (or demo) runs: counts added, latency "
      "histograms merged bucket by bucket (exact percentiles), intervals aligned by wall-clock "
      "time; refuses results of different modes (docs/distributed.md)");
  merge_cmd->add_option("results", merge.inputs, "The JSON results to merge")
      ->type_name("RESULT.json ...");
  merge_cmd->add_option("--json", merge.json,
                        "Write the merged result to FILE (- for standard output); without it, "
                        "a summary is printed")
      ->type_name("FILE");
  merge_cmd->add_option("--hdr-log", merge.hdr_log,
                        "Write the merged intervals' latency as an HdrHistogram interval log")
      ->type_name("FILE");

  PlotArgs plot;
  auto* plot_cmd = app.add_subcommand(
      "plot",
      "Draw one or more gen, demo or merge results as a PNG with gnuplot: rate and errors over "
      "time, latency percentiles over time, and the latency percentile spectrum");
  plot_cmd->add_option("results", plot.inputs, "The JSON results to draw (one line each)")
      ->type_name("RESULT.json ...");
  plot_cmd->add_option("-o,--output", plot.output, "The PNG to write")->type_name("FILE.png");
  plot_cmd->add_option("--title", plot.title, "The plot's title (default: the mode and the first result)")
      ->type_name("TEXT");

  // A word where a command belongs is named as such (CLI11 would say only that
  // a command is required).
  if (argc > 1 && argv[1][0] != '-') {
    bool known = false;
    std::string names;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known = known || sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) {
      std::cerr << "touchstone: error: '" << argv[1] << "' is not a command; the commands are "
                << names << " (see --help)\n";
      return 2;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (!msg.empty() && msg.back() == '\n') msg.pop_back();
    std::cerr << "touchstone: error: " << msg << " (see --help)\n";
    return 2;
  }

  if (gen_cmd->parsed()) {
    try {
      if (!gen.config.empty())
        apply_config_file(gen.config, gen_cmd,
                          [](CLI::App& sub, MixEntry& e) {
                            add_workload(&sub, e.work);
                            sub.add_option("--target", e.target);
                          },
                          gen.mix);
      for (const char* f : {"--port", "--ip"})
        if (!gen_cmd->get_option(f)->count())
          throw UsageError(std::string(f) + " is required (on the command line or in --config)");
      bool targets = !gen.mix.empty();
      for (const MixEntry& e : gen.mix) targets = targets && !e.target.empty();
      if (!gen_cmd->get_option("--target")->count() && !targets)
        throw UsageError("--target is required (on the command line or in --config)");
    } catch (const UsageError& e) {
      std::cerr << "touchstone: error: " << e.what() << "\n";
      return 2;
    }
  }
  collect_given(serve_cmd, serve.common.given);
  collect_given(gen_cmd, gen.common.given);
  collect_given(demo_cmd, demo.common.given);
  collect_given(sim_cmd, sim.given);
  collect_given(stats_cmd, stats.given);
  try {
    // --cc list on any command: the algorithms, and nothing else.
    for (const std::string* cc : {&serve.pools.cc, &gen.pools.cc, &demo.pools.cc, &sim.cc})
      if (*cc == "list") return print_cc_list();
    if (serve_cmd->parsed()) return run_serve(serve);
    if (gen_cmd->parsed()) return run_gen(gen);
    if (demo_cmd->parsed()) return run_demo(demo);
    if (sim_cmd->parsed()) return run_sim(sim);
    if (stats_cmd->parsed()) return run_stats(stats);
    if (merge_cmd->parsed()) return run_merge(merge);
    if (plot_cmd->parsed()) return run_plot(plot);
  } catch (const UsageError& e) {
    std::cerr << "touchstone: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "touchstone: error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
