// What `touchstone stats` reads from a running instance: each polling core
// owns a CoreProbe and services it from its loop; the telemetry thread asks
// for a snapshot and waits for the core to take it. The loop pays one relaxed
// atomic load per iteration and nothing else, and no data the core writes is
// ever read by another thread while the core may change it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <thread>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <utility>
#include <vector>

#include "hostcache/hostcache.hh"

namespace ts::tcp {
class Connection;
}

namespace ts::app {

class Endpoint;

struct ProbeSnapshot {
  std::vector<std::pair<std::string, uint64_t>> counters;  // non-zero ones
  size_t connections = 0;                                  // live connection slots
  std::vector<std::string> rows;                           // two strings per connection
  uint64_t uptime_ns = 0;
};

class CoreProbe {
 public:
  static constexpr size_t kMaxRows = 64;  // per request: the socket's replies are 16 KB

  CoreProbe(std::string role, unsigned lcore, Endpoint& ep, uint64_t started_ns);
  const std::string& role() const { return role_; }
  unsigned lcore() const { return lcore_; }

  // On the owning core, every loop iteration.
  void service(uint64_t now) {
    if (req_.load(std::memory_order_acquire) != served_) fill(now);
  }
  // From any other thread: a snapshot with connection rows [offset,
  // offset + kMaxRows), or false if the core did not answer within 1 s.
  bool snapshot(size_t offset, bool rows, ProbeSnapshot& out);

 private:
  void fill(uint64_t now);

  std::string role_;
  unsigned lcore_;
  Endpoint& ep_;
  uint64_t started_ns_;
  std::mutex ask_mu_;  // one requester at a time (telemetry clients are threads)
  std::atomic<size_t> req_offset_{0};
  std::atomic<bool> req_rows_{false};
  ProbeSnapshot snap_;  // written by the core between a request and its answer
  std::atomic<uint64_t> req_{0}, done_{0};
  uint64_t served_ = 0;  // the owning core's copy of the last request it answered
};

// One connection as /touchstone/connections sends it: two strings (a
// telemetry string holds 127 characters), their fields separated by spaces,
// together in the order of kConnectionRowFields: state, queues, addresses,
// the next timer; srtt and rttvar in us, cwnd in segments, bytes
// retransmitted, acknowledged and received, ms since established, ms held
// back by the peer's window, entries into persist. Formatted by stats.
std::pair<std::string, std::string> connection_row(const tcp::Connection& c, uint64_t now);
inline constexpr size_t kConnectionFields = 15;
extern const char* const kConnectionRowFields[kConnectionFields];

// The process's host-pair cache as `touchstone stats hostcache` reads it:
// snapshots taken on the telemetry thread (HostCache::snapshot is safe
// against the cores' opens and closes), ages against `now`.
struct CacheView {
  const hostcache::HostCache* cache = nullptr;  // null: no cache (--hostcache off)
  hostcache::Policy policy = hostcache::Policy::off;
  std::function<uint64_t()> now;
};

// One entry as /touchstone/hostcache sends it: two strings, numbers in the
// order of kCacheRowFields (remote, local, age ms, srtt us, rttvar us, min
// rtt us, mss, ssthresh, open; window, closes, ms held back, reclaims,
// cookie failures, abuse score).
std::pair<std::string, std::string> cache_row(const hostcache::Key& k, const hostcache::Entry& e,
                                              uint64_t now);
inline constexpr size_t kCacheFields = 17;
extern const char* const kCacheRowFields[kCacheFields];

// Registers /touchstone/info, /touchstone/counters, /touchstone/connections
// and /touchstone/hostcache on the telemetry socket for these probes and
// cache (which must outlive the process's polling; unregister_probes()
// detaches them before they are destroyed).
void register_probes(const std::string& command, std::vector<CoreProbe*> probes,
                     CacheView cache = {});
void unregister_probes();

// --metrics-file: a thread that snapshots every probe each interval and
// rewrites `path` atomically with the Prometheus text (apps/prometheus.hh),
// for node_exporter's textfile collector. The cores pay what `stats` costs
// them: a snapshot when asked.
class MetricsFileWriter {
 public:
  MetricsFileWriter(std::string path, uint64_t interval_ns, std::string command,
                    std::vector<CoreProbe*> probes);
  ~MetricsFileWriter();
  MetricsFileWriter(const MetricsFileWriter&) = delete;
  MetricsFileWriter& operator=(const MetricsFileWriter&) = delete;

 private:
  void run();
  std::string path_;
  uint64_t interval_ns_;
  std::string command_;
  std::vector<CoreProbe*> probes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct MetricsFileSpec {
  std::string path;  // empty: none
  uint64_t interval_ns = 1'000'000'000;
};

// Registers probes for its lifetime (declare it after the endpoints it
// names), and writes the metrics file when one is asked for.
struct ProbeRegistration {
  ProbeRegistration(std::vector<CoreProbe*> probes, const std::string& command,
                    CacheView cache = {}, const MetricsFileSpec& metrics = {}) {
    if (!metrics.path.empty())
      writer_ = std::make_unique<MetricsFileWriter>(metrics.path, metrics.interval_ns, command,
                                                    probes);
    register_probes(command, std::move(probes), std::move(cache));
  }
  ~ProbeRegistration() {
    writer_.reset();
    unregister_probes();
  }
  ProbeRegistration(const ProbeRegistration&) = delete;
  ProbeRegistration& operator=(const ProbeRegistration&) = delete;

 private:
  std::unique_ptr<MetricsFileWriter> writer_;
};

}  // namespace ts::app
