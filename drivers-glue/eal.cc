#include "drivers-glue/eal.hh"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_version.h>

#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#ifdef TS_HAVE_LIBXDP
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#endif

namespace ts::glue {

namespace {
bool g_initialised = false;
std::string g_runtime_dir;

// Lines DPDK and the af_xdp driver's libraries print on every start about
// their own set-up, which say nothing the user can act on: the telemetry
// library's legacy socket, hugepage sizes with none reserved while another
// size has some, and libbpf/libxdp explaining how they load the XDP program
// where no bpffs is mounted. Warnings and errors pass.
bool is_noise(std::string_view line) {
  static constexpr std::string_view kNoise[] = {
      "TELEMETRY: No legacy callbacks",
      "kB hugepages reported on node",  // "EAL: No free 1048576 kB hugepages reported on node 0"
      "skipping unrecognized data section",
      "No bpffs found at",
      "Can't use dispatcher without a working bpffs",
      "Falling back to loading single prog without dispatcher",
      // memif's multi-process hook, which touchstone (one process, no shared
      // runtime files) does not use
      "Failed to register mp action callback",
  };
  for (std::string_view n : kNoise)
    if (line.find(n) != std::string_view::npos) return true;
  return false;
}

// While EAL starts, its lines are held: on success they are printed, on a
// failure the first one names the cause in touchstone's one error line.
bool g_holding = false;
std::string g_held;

// DPDK's log goes to stderr through this filter.
ssize_t log_write(void*, const char* buf, size_t n) {
  if (is_noise({buf, n})) return ssize_t(n);
  if (g_holding) {
    g_held.append(buf, n);
    return ssize_t(n);
  }
  return ssize_t(std::fwrite(buf, 1, n, stderr));
}

// The first line EAL logged that says what was wrong (not its generic
// "FATAL: Invalid 'command line' arguments" that follows), without "EAL: ".
std::string first_reason(const std::string& held) {
  size_t pos = 0;
  while (pos < held.size()) {
    const size_t end = std::min(held.find('\n', pos), held.size());
    std::string line = held.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("EAL: ", 0) == 0) line = line.substr(5);
    if (line.empty() || line.find("FATAL") != std::string::npos ||
        line.find("Invalid 'command line' arguments") != std::string::npos ||
        line.rfind("Error - exiting", 0) == 0)
      continue;
    return line;
  }
  return {};
}

#ifdef TS_HAVE_LIBXDP
int xdp_log(const char* prefix, const char* fmt, va_list ap) {
  char line[512];
  std::vsnprintf(line, sizeof line, fmt, ap);
  if (!is_noise(line)) std::fprintf(stderr, "%s%s", prefix, line);
  return 0;
}
int libbpf_log(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  return xdp_log("libbpf: ", fmt, ap);
}
int libxdp_log(enum libxdp_print_level level, const char* fmt, va_list ap) {
  if (level == LIBXDP_DEBUG) return 0;
  return xdp_log("libxdp: ", fmt, ap);
}
#endif

// The per-process runtime directory (telemetry socket, config) goes when the
// process ends, however it ends, so that `touchstone stats` never meets a dead
// instance's socket; only ever one of ours.
void remove_runtime_dir() {
  if (g_runtime_dir.find(std::string("/") + kFilePrefix) != std::string::npos) {
    std::error_code ec;
    std::filesystem::remove_all(g_runtime_dir, ec);
  }
  g_runtime_dir.clear();
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
#ifdef TS_HAVE_LIBXDP
  libbpf_set_print(libbpf_log);
  libxdp_set_print(libxdp_log);
#endif
  // EAL prints its whole usage text to stdout on a bad argument, and an
  // alert straight to stderr besides its log; the reason goes into our one
  // error line instead. So while it starts, stdout goes nowhere and stderr
  // into a temporary file, shown afterwards only if EAL started.
  std::fflush(stdout);
  std::fflush(stderr);
  const int saved_stdout = dup(STDOUT_FILENO), saved_stderr = dup(STDERR_FILENO);
  if (const int null = open("/dev/null", O_WRONLY); null >= 0) {
    dup2(null, STDOUT_FILENO);
    close(null);
  }
  std::FILE* captured = std::tmpfile();
  if (captured) dup2(fileno(captured), STDERR_FILENO);
  g_holding = true;
  g_held.clear();
  const int rc = rte_eal_init(int(argv.size() - 1), argv.data());
  const int err = rte_errno;
  if (FILE* f = filtered_log_stream()) std::fflush(f);
  g_holding = false;
  std::fflush(stdout);
  std::fflush(stderr);
  if (saved_stdout >= 0) {
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
  }
  if (saved_stderr >= 0) {
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
  }
  if (captured) {
    if (rc >= 0) {
      std::rewind(captured);
      char buf[4096];
      for (size_t n; (n = std::fread(buf, 1, sizeof buf, captured)) > 0;)
        std::fwrite(buf, 1, n, stderr);
    }
    std::fclose(captured);
  }
  if (rc >= 0) std::fwrite(g_held.data(), 1, g_held.size(), stderr);
  if (rc < 0) {
    // EAL may have made its runtime directory before it failed.
    if (const char* dir = rte_eal_get_runtime_dir()) g_runtime_dir = dir;
    remove_runtime_dir();
    std::string cmd;
    for (const auto& s : args) cmd += (cmd.empty() ? "" : " ") + s;
    const std::string reason = first_reason(g_held);
    if (err == EINVAL)
      throw EalArgumentError("--eal: DPDK's EAL refused its arguments" +
                             (reason.empty() ? std::string() : ": " + reason) +
                             " (arguments: " + cmd + ")");
    throw std::runtime_error(std::string("DPDK EAL initialisation failed: ") +
                             (reason.empty() ? rte_strerror(err) : reason) +
                             " (arguments: " + cmd + ")");
  }
  g_initialised = true;
  if (const char* dir = rte_eal_get_runtime_dir()) g_runtime_dir = dir;
}

bool eal_initialised() { return g_initialised; }

void eal_cleanup() {
  if (g_initialised) rte_eal_cleanup();
  g_initialised = false;
  remove_runtime_dir();
}

const char* dpdk_version() { return rte_version(); }

std::vector<unsigned> eal_lcores() {
  std::vector<unsigned> out{rte_get_main_lcore()};
  unsigned id;
  RTE_LCORE_FOREACH_WORKER(id) { out.push_back(id); }
  return out;
}

}  // namespace ts::glue
