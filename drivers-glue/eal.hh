// EAL initialisation. EAL can be initialised once per process.
#pragma once

#include <string>
#include <vector>

namespace ts::glue {

// Initialises EAL with these arguments (program name first). Throws
// std::runtime_error with a one-line reason on failure.
void eal_init(const std::vector<std::string>& args);
bool eal_initialised();
// Releases EAL resources; ports must be closed first.
void eal_cleanup();

// The lcore ids EAL made available, main lcore first.
std::vector<unsigned> eal_lcores();

}  // namespace ts::glue
