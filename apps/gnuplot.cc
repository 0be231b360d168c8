#include "apps/gnuplot.hh"

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace ts::app {

bool have_gnuplot() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

bool gnuplot(const std::string& script_path, const std::string& script) {
  {
    std::ofstream f(script_path);
    f << script;
    if (!f) {
      std::fprintf(stderr, "touchstone: cannot write %s\n", script_path.c_str());
      return false;
    }
  }
  const std::string cmd = "gnuplot '" + script_path + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return false;
  char line[512];
  std::string out;
  while (std::fgets(line, sizeof line, p)) out += line;
  const int rc = pclose(p);
  if (rc != 0) {
    std::fprintf(stderr, "touchstone: gnuplot failed on %s:\n%s", script_path.c_str(), out.c_str());
    return false;
  }
  return true;
}

}  // namespace ts::app
