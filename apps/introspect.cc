#include "apps/introspect.hh"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "apps/prometheus.hh"
#include "apps/runtime.hh"
#include "drivers-glue/telemetry.hh"
#include "tcp/connection.hh"

namespace ts::app {

CoreProbe::CoreProbe(std::string role, unsigned lcore, Endpoint& ep, uint64_t started_ns)
    : role_(std::move(role)), lcore_(lcore), ep_(ep), started_ns_(started_ns) {}

void CoreProbe::fill(uint64_t now) {
  const uint64_t r = req_.load(std::memory_order_acquire);
  stack::Stack& st = ep_.stack();
  snap_ = ProbeSnapshot{};
  st.counters().for_each([&](std::string_view name, uint64_t v, bool, std::string_view) {
    if (v) snap_.counters.emplace_back(std::string(name), v);
  });
  ep_.port_device().stats().for_each([&](const char* name, uint64_t v, bool, const char*) {
    snap_.counters.emplace_back(name, v);
  });
  const auto& pool = st.tcp().buffers();
  snap_.counters.emplace_back("tcp_buffer_bytes_in_use", pool.in_use_bytes());
  snap_.counters.emplace_back("tcp_buffer_bytes_cached", pool.cached_bytes());
  snap_.connections = st.tcp().connections();
  snap_.uptime_ns = now - started_ns_;
  if (req_rows_.load(std::memory_order_relaxed))
    st.tcp().for_each_connection(req_offset_.load(std::memory_order_relaxed), kMaxRows, [&](const tcp::Connection& c) {
      auto [a, b] = connection_row(c, now);
      snap_.rows.push_back(std::move(a));
      snap_.rows.push_back(std::move(b));
    });
  served_ = r;
  done_.store(r, std::memory_order_release);
}

bool CoreProbe::snapshot(size_t offset, bool rows, ProbeSnapshot& out) {
  std::lock_guard<std::mutex> lock(ask_mu_);
  req_offset_.store(offset, std::memory_order_relaxed);
  req_rows_.store(rows, std::memory_order_relaxed);
  const uint64_t r = req_.load(std::memory_order_relaxed) + 1;
  req_.store(r, std::memory_order_release);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (done_.load(std::memory_order_acquire) != r) {
    if (std::chrono::steady_clock::now() > give_up) {
      // The core stopped polling: it may still answer later, so the
      // snapshot stays its to write; this request is abandoned.
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  out = snap_;
  return true;
}

namespace {

std::string ms(uint64_t deadline, uint64_t now) {
  if (!deadline) return "";
  char b[32];
  std::snprintf(b, sizeof b, "%.1fms", deadline > now ? double(deadline - now) / 1e6 : 0.0);
  return b;
}

}  // namespace

const char* const kConnectionRowFields[kConnectionFields] = {
    "state",   "recv_q",      "send_q",        "local",          "peer",
    "timer",   "srtt_us",     "rttvar_us",     "cwnd",           "retrans_bytes",
    "acked_bytes", "received_bytes", "age_ms", "held_back_ms",   "persist_entries"};

std::pair<std::string, std::string> connection_row(const tcp::Connection& c, uint64_t now) {
  const auto& t = c.tuple();
  std::string timer = "-";
  if (c.rto_deadline()) timer = "rto:" + ms(c.rto_deadline(), now);
  else if (c.persist_deadline()) timer = "persist:" + ms(c.persist_deadline(), now);
  else if (c.time_wait_deadline()) timer = "timewait:" + ms(c.time_wait_deadline(), now);
  else if (c.keepalive_deadline()) timer = "keepalive:" + ms(c.keepalive_deadline(), now);
  // Telemetry strings hold at most 127 characters: a connection is two.
  char a[128], b[128];
  std::snprintf(a, sizeof a, "%s %zu %zu %s:%u %s:%u %s", tcp::state_name(c.state()),
                size_t(c.bytes_received() - c.bytes_consumed()), c.send_queued(),
                t.local_ip.str().c_str(), t.local_port, t.remote_ip.str().c_str(), t.remote_port,
                timer.c_str());
  std::snprintf(b, sizeof b, "%llu %llu %u %llu %llu %llu %llu %llu %u",
                (unsigned long long)(c.rtt().srtt() / 1000),
                (unsigned long long)(c.rtt().rttvar() / 1000),
                c.cwnd() / std::max<uint32_t>(c.smss(), 1),
                (unsigned long long)c.retransmitted_bytes(), (unsigned long long)c.bytes_acked(),
                (unsigned long long)c.bytes_received(),
                (unsigned long long)c.established_for_ms(now),
                (unsigned long long)(c.held_back_for(now) / 1'000'000), c.persist_entries());
  return {a, b};
}

namespace {

// Never destroyed: a telemetry thread may still be answering while the
// process exits and static destructors run.
std::mutex& g_probes_mu = *new std::mutex;
std::vector<CoreProbe*>& g_probes = *new std::vector<CoreProbe*>;
std::string& g_command = *new std::string;
CacheView& g_cache = *new CacheView;

CoreProbe* probe_at(const std::string& params, size_t& offset) {
  // params: "CORE" or "CORE,OFFSET" (CORE is the index in /touchstone/info's list)
  unsigned long core = 0, off = 0;
  char extra = 0;
  if (!params.empty()) {
    const int n = std::sscanf(params.c_str(), "%lu,%lu%c", &core, &off, &extra);
    if (n < 1 || n > 2) return nullptr;
  }
  offset = off;
  if (core >= g_probes.size()) return nullptr;
  return g_probes[core];
}

}  // namespace

const char* const kCacheRowFields[kCacheFields] = {
    "remote",    "local",   "age_ms",   "srtt_us",      "rttvar_us",       "min_rtt_us",
    "mss",       "ssthresh", "open",    "window",       "closes",          "held_back_ms",
    "reclaims",  "cookie_failures", "abuse", "fastopen", "fastopen_mss"};

std::pair<std::string, std::string> cache_row(const hostcache::Key& k, const hostcache::Entry& e,
                                              uint64_t now) {
  char a[128], b[128];
  std::snprintf(a, sizeof a, "%s %s %llu %llu %llu %llu %u %u %u", k.remote.str().c_str(),
                k.local.str().c_str(),
                (unsigned long long)((now > e.updated_ns ? now - e.updated_ns : 0) / 1'000'000),
                (unsigned long long)(e.srtt_ns / 1000), (unsigned long long)(e.rttvar_ns / 1000),
                (unsigned long long)(e.min_rtt_ns / 1000), unsigned(e.mss), e.ssthresh, e.open);
  // Fast Open: "cookie" (held and usable), "blocked" (the server dropped
  // SYN data lately) or "-".
  const tcp::PathHint h = hostcache::HostCache::fastopen_of(e, now);
  const char* fo = h.fastopen_blocked ? "blocked" : h.fastopen.len ? "cookie" : "-";
  std::snprintf(b, sizeof b, "%llu %llu %llu %u %u %.1f %s %u",
                (unsigned long long)e.ensemble_cwnd, (unsigned long long)e.closes,
                (unsigned long long)e.held_back_ms, e.reclaims, e.cookie_failures,
                hostcache::abuse_at(e, now), fo, unsigned(h.fastopen_mss));
  return {a, b};
}

void register_probes(const std::string& command, std::vector<CoreProbe*> probes,
                     CacheView cache) {
  {
    std::lock_guard<std::mutex> lock(g_probes_mu);
    g_probes = std::move(probes);
    g_command = command;
    g_cache = std::move(cache);
  }
  static bool registered = false;
  if (registered) return;
  registered = true;
  glue::telemetry_register(
      "/touchstone/info", "The instance: pid, command, and its polling cores (index: role, lcore)",
      [](const std::string&, glue::TelReply& r) {
        std::lock_guard<std::mutex> lock(g_probes_mu);
        r.numbers.push_back({"pid", uint64_t(getpid())});
        r.strings.push_back({"command", g_command});
        r.list_name = "cores";
        for (const CoreProbe* p : g_probes)
          r.list.push_back(p->role() + " lcore " + std::to_string(p->lcore()));
      });
  glue::telemetry_register(
      "/touchstone/counters", "Non-zero counters of one core. Parameter: core index",
      [](const std::string& params, glue::TelReply& r) {
        std::lock_guard<std::mutex> lock(g_probes_mu);
        size_t off = 0;
        CoreProbe* p = probe_at(params, off);
        ProbeSnapshot s;
        if (!p || !p->snapshot(0, false, s)) {
          r.error = true;
          return;
        }
        r.strings.push_back({"role", p->role()});
        r.numbers.push_back({"uptime_ms", s.uptime_ns / 1'000'000});
        r.numbers.push_back({"connections", s.connections});
        for (auto& [k, v] : s.counters) r.numbers.push_back({k, v});
      });
  glue::telemetry_register(
      "/touchstone/connections",
      "Connections of one core, 100 per request. Parameters: core index[,offset]",
      [](const std::string& params, glue::TelReply& r) {
        std::lock_guard<std::mutex> lock(g_probes_mu);
        size_t off = 0;
        CoreProbe* p = probe_at(params, off);
        ProbeSnapshot s;
        if (!p || !p->snapshot(off, true, s)) {
          r.error = true;
          return;
        }
        r.numbers.push_back({"total", s.connections});
        r.numbers.push_back({"offset", off});
        r.list_name = "connections";
        r.list = std::move(s.rows);
      });
  glue::telemetry_register(
      "/touchstone/hostcache",
      "Host-pair cache entries, 64 per request, two strings each (fields: see "
      "kCacheRowFields). Parameter: offset",
      [](const std::string& params, glue::TelReply& r) {
        std::lock_guard<std::mutex> lock(g_probes_mu);
        unsigned long off = 0;
        char extra = 0;
        if (!params.empty() && std::sscanf(params.c_str(), "%lu%c", &off, &extra) != 1) {
          r.error = true;
          return;
        }
        r.strings.push_back({"policy", hostcache::policy_name(g_cache.policy)});
        r.list_name = "entries";
        if (!g_cache.cache) {
          r.numbers.push_back({"total", 0});
          return;
        }
        auto entries = g_cache.cache->snapshot();
        // Most recently updated first, like a cache's users care about.
        std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
          return a.second.updated_ns != b.second.updated_ns
                     ? a.second.updated_ns > b.second.updated_ns
                     : a.first.packed() < b.first.packed();
        });
        const uint64_t now = g_cache.now();
        r.numbers.push_back({"total", entries.size()});
        r.numbers.push_back({"offset", off});
        for (size_t i = off; i < entries.size() && i < off + CoreProbe::kMaxRows; ++i) {
          auto [a, b] = cache_row(entries[i].first, entries[i].second, now);
          r.list.push_back(std::move(a));
          r.list.push_back(std::move(b));
        }
      });
}

MetricsFileWriter::MetricsFileWriter(std::string path, uint64_t interval_ns, std::string command,
                                     std::vector<CoreProbe*> probes)
    : path_(std::move(path)),
      interval_ns_(interval_ns),
      command_(std::move(command)),
      probes_(std::move(probes)),
      thread_([this] { run(); }) {}

MetricsFileWriter::~MetricsFileWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void MetricsFileWriter::run() {
  bool warned = false;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::nanoseconds(interval_ns_), [&] { return stop_.load(); });
    if (stop_) return;
    lock.unlock();
    std::vector<MetricsCore> cores;
    for (CoreProbe* p : probes_) {
      // The run is ending: its cores may no longer answer; write nothing.
      if (stop_) return;
      ProbeSnapshot s;
      MetricsCore c;
      c.role = p->role();
      c.lcore = p->lcore();
      c.answered = p->snapshot(0, false, s);
      c.uptime_ms = s.uptime_ns / 1'000'000;
      c.connections_open = s.connections;
      c.counters = std::move(s.counters);
      cores.push_back(std::move(c));
    }
    if (stop_) return;
    if (!write_file_atomically(path_, prometheus_text(command_, int(getpid()), cores)) &&
        !warned) {
      std::fprintf(stderr, "touchstone: --metrics-file %s: cannot write it (%s); still trying\n",
                   path_.c_str(), std::strerror(errno));
      warned = true;
    }
    lock.lock();
  }
}

void unregister_probes() {
  std::lock_guard<std::mutex> lock(g_probes_mu);
  g_probes.clear();
  g_cache = CacheView{};
}

}  // namespace ts::app
