// Running gnuplot (Debian's gnuplot-nox), which draws every plot touchstone
// makes: the congestion lab's and `touchstone plot`'s (docs/congestion.md
// says why gnuplot).
#pragma once

#include <string>

namespace ts::app {

bool have_gnuplot();
// Writes `script` to `script_path` and runs gnuplot on it; false (with
// gnuplot's output on stderr) if it failed.
bool gnuplot(const std::string& script_path, const std::string& script);

}  // namespace ts::app
