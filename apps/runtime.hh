// What every subcommand shares: option values common to serve, gen and demo,
// EAL and port set-up, the stop flag, and the single-line usage error.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "apps/introspect.hh"
#include "drivers-glue/capture.hh"
#include "drivers-glue/clock.hh"
#include "drivers-glue/port.hh"
#include "drivers-glue/port_spec.hh"
#include "hostcache/path_cache.hh"
#include "stack/impair.hh"
#include "stack/stack.hh"
#include "stack/steering.hh"
#include "util/cache_line.hh"

namespace ts::app {

// Set by SIGINT/SIGTERM; every loop polls it.
extern std::atomic<bool> g_stop;
void install_signal_handlers();

// A bad command line: main prints "touchstone: error: <msg>" and exits with
// status 2, after destructors have closed whatever was opened.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void usage_error(const std::string& msg);

// The flags given on a command line (long names: "--json"), so that one
// that does not apply to what was asked for is refused, never ignored.
struct Given {
  std::set<std::string, std::less<>> names;
  bool has(std::string_view flag) const { return names.count(flag) != 0; }
};
// "--http-size does not apply to --app echo": the one shape of that error.
[[noreturn]] void not_applicable(std::string_view flag, const std::string& context);
// Refuses the first of `flags` that was given.
void refuse_given(const Given& g, std::initializer_list<const char*> flags,
                  const std::string& context);

// Raw option text as CLI11 collects it; checked by the parse_* helpers below.
struct CommonArgs {
  std::string port;
  std::string eal;
  std::string lcores;
  bool no_huge = false;
  std::vector<std::string> impair;
  std::string duration;  // empty: until stopped
  std::string progress = "1s";
  bool quiet = false;
  std::string hostcache = "temporal";
  std::string metrics_file;  // Prometheus text, rewritten every interval
  std::string pcap;          // capture every frame of the port (demo: gen's side)
  std::string pcap_snaplen;  // bytes kept of each frame
  std::string pcap_count;    // frames at most
  std::string tx_batch;      // empty: each port's default (docs/performance.md)
  Given given;
};

struct InterfaceArgs {
  std::string ip;  // A.B.C.D/LEN
  std::string gw;
  uint16_t vlan = 0;
};

stack::StackConfig parse_interface(const InterfaceArgs& a);
hostcache::Policy parse_hostcache(const std::string& text);

// The process's host-pair cache (shared by every endpoint and core) and the
// policy connections use it with.
struct PathSharing {
  // The cache's RTO bounds are those of `tcp`, the configuration the
  // connections use.
  PathSharing(hostcache::Policy p, const tcp::TcpConfig& tcp)
      : policy(p), fast_open(tcp.fast_open), cache(hostcache::Config::with_tcp(tcp)) {}
  // Connects an endpoint's TCP layer through an adapter of its own (nothing
  // with the policy off, unless Fast Open keeps its cookies there:
  // docs/fastopen.md).
  bool used() const { return policy != hostcache::Policy::off || fast_open; }
  void attach(stack::TcpLayer& tcp) {
    if (!used()) return;
    cores.push_back(std::make_unique<hostcache::SharedPathCache>(cache, policy));
    tcp.set_path_cache(cores.back().get());
  }
  // What `touchstone stats hostcache` reads (ages measured with `clock`).
  CacheView view(const glue::TscClock& clock) const {
    if (!used()) return {};
    return {&cache, policy, [&clock] { return clock.now_ns(); }};
  }
  hostcache::Policy policy;
  bool fast_open;
  hostcache::HostCache cache;
  // One per core (a core's adapter is used by that core only); destroyed
  // before the cache, publishing what they still hold.
  std::vector<std::unique_ptr<hostcache::SharedPathCache>> cores;
};
// --duration: empty for no limit; otherwise a positive duration.
std::optional<uint64_t> parse_duration_arg(const std::string& text, const char* flag);
uint64_t parse_duration_required(const std::string& text, const char* flag);
// --progress: the interval of progress lines; 0 (or --quiet) for none.
uint64_t parse_progress(const CommonArgs& c);
// --start-at TIME as Unix seconds: "2026-12-05T10:00:00Z" (fractions of a
// second and a +HH:MM or -HH:MM offset allowed), "@1733392800.5", or "+10s"
// from `now_unix`. A usage error for anything else, for a time more than a
// second in the past, or more than a day ahead.
double parse_start_at(const std::string& text, double now_unix);
// Polls `eps` (answering ARP and the like) until the wall clock reaches
// `at_unix` or a signal arrives; false on a signal.
bool wait_until(double at_unix, const std::vector<class Endpoint*>& eps, const glue::TscClock& clock);
// --pcap, --pcap-snaplen and --pcap-count: checked (a usage error for a
// file that cannot be written, a bad number, or the last two without --pcap);
// no value when there is no --pcap.
std::optional<glue::CaptureConfig> parse_pcap(const CommonArgs& c);
// Starts the capture of `eps`' frames (each endpoint one of its queues); null
// without a --pcap. Stop it with finish_capture() before the endpoints go.
std::unique_ptr<glue::Capture> start_capture(const std::optional<glue::CaptureConfig>& cfg,
                                             const std::vector<Endpoint*>& eps,
                                             const glue::EthPort& port,
                                             const glue::TscClock& clock);
// Detaches the capture from `eps`, writes what it still holds, closes the
// file and prints a line: frames written, and dropped if any.
void finish_capture(std::unique_ptr<glue::Capture>& cap, const std::vector<Endpoint*>& eps);
// --metrics-file: checked (a file in a writable directory); rewritten every
// --progress interval, or every second without progress lines.
MetricsFileSpec parse_metrics_file(const CommonArgs& c);
void parse_impair_args(const std::vector<std::string>& specs, stack::ImpairSpec& rx,
                       stack::ImpairSpec& tx);
// --port: one spec, checked against what exists on this machine.
glue::PortSpec parse_port(const std::string& spec);

// The CPUs this process may run on (its affinity), ascending.
std::vector<unsigned> allowed_cpus();

// What --lcores, --eal and --no-huge ask of EAL, checked before it starts.
struct EalChoice {
  std::vector<unsigned> cpus;    // the polling cores, the main one first
  std::vector<std::string> raw;  // extra EAL arguments, checked
  bool no_huge = false;          // never take reserved hugepages
  uint16_t tx_batch = 0;         // --tx-batch (0: each port's default)
  size_t cores() const { return cpus.size(); }
};
// --lcores: a count N (the last N CPUs this process may use, so that polling
// cores stay off CPU 0 where the kernel and a Linux peer usually run) or a
// list of CPUs ("1,3", "2-3"); none gives `default_count` cores.
EalChoice plan_eal_choice(const CommonArgs& c, unsigned default_count);

// EAL plus opened ports. Constructed once per process; when anything fails
// after EAL started, what was opened is closed and EAL's runtime directory
// removed before the error goes up.
class Runtime {
 public:
  // Throws std::runtime_error (printed as one line by main) on any failure.
  // Queue pairs per port: `queues_for(lcore count)` when given, else one per
  // lcore (capped by the device).
  // `ring_mtu`: the in-memory ring port's MTU (0: 1500); `tso`: ports that
  // have TCP segmentation offload offer it (their pools of large buffers are
  // made only then: TCP will use it).
  Runtime(const std::vector<glue::PortSpec>& ports, const EalChoice& eal,
          const std::function<uint16_t(size_t)>& queues_for = nullptr, uint16_t ring_mtu = 0,
          bool tso = false);
  ~Runtime();

  // The opened ports, in the order given; a ring spec opens two ports (a pair).
  // Every PortDevice (and so every Endpoint) on them must be gone before the
  // Runtime is: a device may keep buffers of any port's pool for its next
  // transmissions (docs/architecture.md, "Transmit buffers are recycled"), and
  // each port frees its pool with it. The apps declare their endpoints after
  // the Runtime.
  std::vector<std::unique_ptr<glue::EthPort>>& ports() { return ports_; }
  const std::vector<unsigned>& lcores() const { return lcores_; }
  const glue::TscClock& clock() const { return *clock_; }

 private:
  void open(const std::vector<glue::PortSpec>& ports, const EalChoice& eal, uint16_t ring_mtu,
            bool tso, const std::function<uint16_t(size_t)>& queues_for);
  std::vector<std::unique_ptr<glue::EthPort>> ports_;
  std::vector<unsigned> lcores_;
  std::unique_ptr<glue::TscClock> clock_;
};

class CoreProbe;

// The cores sharing one port: the flow placement and the rings between them.
struct PortCores {
  PortCores(const glue::EthPort& port, unsigned cores)
      : fabric(port.placement(cores), std::min<unsigned>(cores, port.caps().queues)) {}
  stack::SteeringFabric fabric;
};

// One core's endpoint: the port's queue as a Device (with several cores,
// behind the steering device), optionally behind the fault injector, and the
// stack on top.
class alignas(util::kCacheLine) Endpoint {
 public:
  // `cores`: null for a port with one core; else this is core `core` of them.
  Endpoint(glue::EthPort& port, const stack::StackConfig& cfg, const stack::ImpairSpec& rx,
           const stack::ImpairSpec& tx, PortCores* cores = nullptr, unsigned core = 0);
  ~Endpoint();
  stack::Stack& stack() { return *stack_; }
  const glue::PortDevice& port_device() const { return *port_dev_; }
  // --pcap: the frames this core receives and transmits go to `q` (null: none).
  void set_capture(glue::CaptureQueue* q) { port_dev_->set_capture(q); }
  const stack::ImpairedDevice* impairer() const { return impaired_.get(); }

  // One iteration of this core's loop: the stack's poll, then a statistics
  // request if one is waiting. A poll that received or sent a frame counts
  // its time as busy (two TSC reads; one when idle).
  void poll(uint64_t now) {
    const stack::Counters& c = stack_->counters();
    const uint64_t frames = c.rx_frames + c.tx_frames;
    const uint64_t t0 = rte_rdtsc();
    if (!first_poll_cycles_) first_poll_cycles_ = t0;
    stack_->poll(now);
    if (probe_) service_probe(now);
    if (c.rx_frames + c.tx_frames != frames) busy_cycles_ += rte_rdtsc() - t0;
  }
  // How busy the core has been with this endpoint since its first poll: the
  // time of its polls that moved frames, and all the time, in seconds.
  struct Busy {
    double busy_s = 0, span_s = 0;
    void merge(const Busy& o) {
      busy_s += o.busy_s;
      span_s += o.span_s;
    }
    double fraction() const { return span_s > 0 ? busy_s / span_s : 0; }
  };
  Busy busy() const;
  // Time the core spent on this endpoint's behalf outside poll() (a
  // workload's tick that sent frames).
  void add_busy(uint64_t cycles) { busy_cycles_ += cycles; }
  uint64_t frames_moved() const {
    const stack::Counters& c = stack_->counters();
    return c.rx_frames + c.tx_frames;
  }
  // With several cores: stop taking frames from the port queue; whether the
  // rings from other cores are empty; whether this core has a queue.
  void stop_receiving() {
    if (steering_) steering_->stop_receiving();
  }
  bool steering_idle() const { return !steering_ || steering_->idle(); }
  bool owns_queue() const { return !steering_ || steering_->owns_queue(); }
  // Makes the endpoint visible to `touchstone stats` (see introspect.hh).
  CoreProbe* enable_probe(const std::string& role, unsigned lcore, uint64_t now);

 private:
  void service_probe(uint64_t now);
  std::unique_ptr<CoreProbe> probe_;
  std::unique_ptr<glue::PortDevice> port_dev_;
  std::unique_ptr<stack::SteeringDevice> steering_;
  std::unique_ptr<stack::ImpairedDevice> impaired_;
  std::unique_ptr<stack::Stack> stack_;
  uint64_t busy_cycles_ = 0;
  uint64_t first_poll_cycles_ = 0;
};

// Prints the non-zero counters of endpoints (summed over them), one per line:
//   "  <name> <value>  <description>", drops marked with "drop:".
void print_counters(const std::string& title, const std::vector<Endpoint*>& eps);
// The endpoints' stack counters, summed.
stack::Counters sum_counters(const std::vector<Endpoint*>& eps);
// The endpoints' busy time, summed (span_s: core-seconds).
Endpoint::Busy sum_busy(const std::vector<Endpoint*>& eps);
// What one role ("gen", "serve") counted, and how busy its cores were.
struct RoleCounters {
  std::string role;
  stack::Counters counters;
  Endpoint::Busy busy;
  glue::PortDeviceStats port;  // the port's counters (port_*), as the text dump shows them
};
RoleCounters role_counters(const std::string& role, const std::vector<Endpoint*>& eps);
// "lcore 3" or "lcores 2,3".
std::string lcore_list(const std::vector<unsigned>& lcores);
// The lcores and, with several, how flows reach them: "lcores 2,3 (1 port
// queue, flows placed by software steering)".
std::string describe_cores(const glue::EthPort& port, const std::vector<unsigned>& lcores);

// "1.23M", "45.6k", "789"
std::string si(double v);
// A duration in ns as "850ns", "12.3us", "4.56ms", "1.20s".
std::string human_ns(uint64_t ns);
// Bytes as "512 B", "1.50 KiB", "12.3 MiB", "4.00 GiB".
std::string human_bytes(uint64_t bytes);

}  // namespace ts::app
