// gen --config FILE.toml (docs/distributed.md, "Configuration files"): every
// flag of gen as a key at the top of the file (its long name, - or _ alike),
// and a traffic mix as [[workload]] tables. The command line overrides the
// file; the file's top-level workload keys are every workload's defaults.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/workload_run.hh"

namespace ts::app {

// Applies FILE's top-level keys to the options of `cmd` the command line did
// not give, and reads its [[workload]] tables into `mix`, each parsed with the
// options `add_options` registers (gen's workload flags and --target). A
// UsageError naming the file, the line and the key for anything wrong.
void apply_config_file(const std::string& path, CLI::App* cmd,
                       const std::function<void(CLI::App&, MixEntry&)>& add_options,
                       std::vector<MixEntry>& mix);

}  // namespace ts::app
