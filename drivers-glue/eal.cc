#include "drivers-glue/eal.hh"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace ts::glue {

namespace {
bool g_initialised = false;
std::string g_runtime_dir;

// DPDK's log goes to stderr through this filter, which drops the one line
// the telemetry library prints on every start about a socket nobody needs.
ssize_t log_write(void*, const char* buf, size_t n) {
  static const char kNoise[] = "TELEMETRY: No legacy callbacks";
  if (n >= sizeof kNoise - 1 && std::memcmp(buf, kNoise, sizeof kNoise - 1) == 0) return ssize_t(n);
  return ssize_t(std::fwrite(buf, 1, n, stderr));
}

FILE* filtered_log_stream() {
  static FILE* f = [] {
    cookie_io_functions_t io{};
    io.write = log_write;
    FILE* s = fopencookie(nullptr, "w", io);
    if (s) setvbuf(s, nullptr, _IOLBF, 0);
    return s;
  }();
  return f;
}
}  // namespace

void eal_init(const std::vector<std::string>& args) {
  if (g_initialised) throw std::runtime_error("EAL is already initialised in this process");
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  std::vector<char*> argv;
  for (auto& s : copy) argv.push_back(s.data());
  argv.push_back(nullptr);
  if (FILE* f = filtered_log_stream()) rte_openlog_stream(f);
  const int rc = rte_eal_init(int(argv.size() - 1), argv.data());
  if (rc < 0) {
    std::string cmd;
    for (const auto& s : args) cmd += (cmd.empty() ? "" : " ") + s;
    throw std::runtime_error(std::string("DPDK EAL initialisation failed: ") +
                             rte_strerror(rte_errno) + " (arguments: " + cmd + ")");
  }
  g_initialised = true;
  if (const char* dir = rte_eal_get_runtime_dir()) g_runtime_dir = dir;
}

bool eal_initialised() { return g_initialised; }

void eal_cleanup() {
  if (g_initialised) rte_eal_cleanup();
  g_initialised = false;
  // The per-process runtime directory (telemetry socket, config) goes too, so
  // that `touchstone stats` never meets a dead instance's socket.
  if (g_runtime_dir.find(std::string("/") + kFilePrefix) != std::string::npos) {
    std::error_code ec;
    std::filesystem::remove_all(g_runtime_dir, ec);
  }
  g_runtime_dir.clear();
}

std::vector<unsigned> eal_lcores() {
  std::vector<unsigned> out{rte_get_main_lcore()};
  unsigned id;
  RTE_LCORE_FOREACH_WORKER(id) { out.push_back(id); }
  return out;
}

}  // namespace ts::glue
