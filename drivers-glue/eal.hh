// EAL initialisation. EAL can be initialised once per process.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ts::glue {

// EAL's file prefix, and so the runtime directory, of a touchstone process
// is this followed by its pid: `touchstone stats` finds instances by it and
// eal_cleanup() removes only such directories.
inline constexpr const char* kFilePrefix = "touchstone-";
inline std::string file_prefix_for(int pid) { return kFilePrefix + std::to_string(pid); }

// EAL refused an argument's value (a bad command line, not a failure).
struct EalArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Initialises EAL with these arguments (program name first). Throws
// EalArgumentError when EAL refuses them, std::runtime_error with a one-line
// reason on any other failure; either way EAL's own lines are folded into
// that one line.
void eal_init(const std::vector<std::string>& args);
bool eal_initialised();
// Releases EAL resources; ports must be closed first.
void eal_cleanup();

// "DPDK 22.11.x" (needs no initialisation).
const char* dpdk_version();

// The lcore ids EAL made available, main lcore first.
std::vector<unsigned> eal_lcores();

}  // namespace ts::glue
