#include "apps/report.hh"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "apps/runtime.hh"
#include "apps/version.hh"
#include "drivers-glue/eal.hh"

namespace ts::app {

std::string percentiles_line(const util::Histogram& h) {
  return "p50 " + human_ns(h.quantile(0.5)) + "  p90 " + human_ns(h.quantile(0.9)) + "  p99 " +
         human_ns(h.quantile(0.99)) + "  p99.9 " + human_ns(h.quantile(0.999)) + "  p99.99 " +
         human_ns(h.quantile(0.9999)) + "  max " + human_ns(h.max());
}

nlohmann::ordered_json latency_json(const util::Histogram& h) {
  auto us = [](uint64_t ns) { return double(ns) / 1e3; };
  return {{"min", us(h.min())},           {"mean", h.mean() / 1e3},
          {"p50", us(h.quantile(0.5))},    {"p90", us(h.quantile(0.9))},
          {"p99", us(h.quantile(0.99))},   {"p99_9", us(h.quantile(0.999))},
          {"p99_99", us(h.quantile(0.9999))}, {"max", us(h.max())}};
}

nlohmann::ordered_json histogram_json(const util::Histogram& h) {
  nlohmann::ordered_json buckets = nlohmann::ordered_json::array();
  h.for_each_bucket([&](unsigned i, uint64_t n) {
    buckets.push_back(nlohmann::ordered_json::array({util::Histogram::bucket_low(i), n}));
  });
  return {{"unit", "ns"},        {"sub_bits", util::Histogram::kSubBits},
          {"count", h.count()},  {"sum", h.sum()},
          {"min", h.min()},      {"max", h.max()},
          {"buckets", buckets}};
}

util::Histogram histogram_from_json(const nlohmann::json& j, const std::string& where) {
  auto bad = [&](const std::string& why) {
    return std::runtime_error(where + ": not a touchstone histogram (" + why + ")");
  };
  if (!j.is_object()) throw bad("not an object");
  for (const char* k : {"count", "sum", "min", "max"})
    if (!j.contains(k) || !j[k].is_number_unsigned()) throw bad(std::string("no ") + k);
  if (j.value("unit", "") != "ns") throw bad("unit is not ns");
  if (j.value("sub_bits", 0u) != util::Histogram::kSubBits)
    throw bad("sub_bits is not " + std::to_string(util::Histogram::kSubBits));
  if (!j.contains("buckets") || !j["buckets"].is_array()) throw bad("no buckets");
  util::Histogram h;
  for (const auto& b : j["buckets"]) {
    if (!b.is_array() || b.size() != 2 || !b[0].is_number_unsigned() || !b[1].is_number_unsigned())
      throw bad("a bucket is not [low, count]");
    const uint64_t low = b[0];
    const unsigned idx = util::Histogram::index_of(low);
    if (util::Histogram::bucket_low(idx) != low)
      throw bad("no bucket starts at " + std::to_string(low));
    h.add_bucket(idx, b[1]);
  }
  if (h.count() != j["count"].get<uint64_t>()) throw bad("the buckets do not add up to count");
  h.set_summary(j["sum"], j["min"], j["max"]);
  return h;
}

nlohmann::ordered_json counters_json(const stack::Counters& c) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  c.for_each([&](std::string_view name, uint64_t v, bool, std::string_view) {
    if (v) j[std::string(name)] = v;
  });
  return j;
}

namespace {
std::string g_command_line;
std::string g_started;
int g_json_fd = -1;  // standard output, saved when --json - moved the text to stderr
}  // namespace

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.empty() || a.find_first_of(" \t\"'\\$*?") != std::string::npos) {
      std::string q = "'";
      for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      a = q + "'";
    }
    g_command_line += (i ? " " : "") + a;
  }
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  g_started = buf;
}

std::string version_line() {
  return std::string("touchstone ") + TS_PROJECT_VERSION + " (git " + TS_GIT_DESCRIBE + "), " +
         glue::dpdk_version();
}

nlohmann::ordered_json json_meta(const std::string& command) {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  nlohmann::ordered_json j;
  j["tool"] = "touchstone";
  j["version"] = std::string(TS_PROJECT_VERSION) + " (git " + TS_GIT_DESCRIBE + ")";
  j["dpdk_version"] = glue::dpdk_version();
  j["command"] = command;
  j["command_line"] = g_command_line;
  j["host"] = host;
  j["started"] = g_started;
  return j;
}

void check_json_path(const std::string& path, const char* flag) {
  if (path.empty()) return;
  if (path == "-") {
    if (g_json_fd < 0) {
      std::fflush(stdout);
      g_json_fd = dup(STDOUT_FILENO);
      dup2(STDERR_FILENO, STDOUT_FILENO);
    }
    return;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) usage_error(std::string(flag) + " " + path + " is a directory");
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    usage_error(std::string(flag) + " " + path + ": no directory " + dir.string());
  if (fs::exists(p, ec) ? access(path.c_str(), W_OK) != 0 : access(dir.c_str(), W_OK) != 0)
    usage_error(std::string(flag) + " " + path + ": " + std::strerror(errno));
}

void write_json_file(const std::string& path, const nlohmann::ordered_json& j) {
  const std::string text = j.dump(2) + "\n";
  if (path == "-") {
    const int fd = g_json_fd >= 0 ? g_json_fd : STDOUT_FILENO;
    for (size_t off = 0; off < text.size();) {
      const ssize_t n = write(fd, text.data() + off, text.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("--json -: cannot write to standard output");
      off += size_t(n);
    }
    return;
  }
  // Written beside and renamed over: a reader (a merge waiting for the
  // file) never sees half of it.
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::ofstream out(tmp);
  out << text;
  out.close();
  if (!out || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("--json: cannot write " + path);
  }
}

}  // namespace ts::app
