#include "drivers-glue/eal.hh"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <stdexcept>

namespace ts::glue {

namespace {
bool g_initialised = false;
}

void eal_init(const std::vector<std::string>& args) {
  if (g_initialised) throw std::runtime_error("EAL is already initialised in this process");
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  std::vector<char*> argv;
  for (auto& s : copy) argv.push_back(s.data());
  argv.push_back(nullptr);
  const int rc = rte_eal_init(int(argv.size() - 1), argv.data());
  if (rc < 0) {
    std::string cmd;
    for (const auto& s : args) cmd += (cmd.empty() ? "" : " ") + s;
    throw std::runtime_error(std::string("DPDK EAL initialisation failed: ") +
                             rte_strerror(rte_errno) + " (arguments: " + cmd + ")");
  }
  g_initialised = true;
}

bool eal_initialised() { return g_initialised; }

void eal_cleanup() {
  if (g_initialised) rte_eal_cleanup();
  g_initialised = false;
}

std::vector<unsigned> eal_lcores() {
  std::vector<unsigned> out{rte_get_main_lcore()};
  unsigned id;
  RTE_LCORE_FOREACH_WORKER(id) { out.push_back(id); }
  return out;
}

}  // namespace ts::glue
