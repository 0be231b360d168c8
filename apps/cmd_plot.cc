// touchstone plot: a PNG of one or more gen, demo or merge results (their
// JSON): the rate and the errors over time, latency percentiles over time,
// and the latency percentile spectrum as HdrHistogram's plotters draw it
// (docs/json.md, "Plots"). Drawn by gnuplot, as the congestion lab's plots.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/commands.hh"
#include "apps/gnuplot.hh"
#include "apps/report.hh"
#include "apps/runtime.hh"

namespace ts::app {

namespace {

using Json = nlohmann::json;

struct Series {
  std::string path, label;
  Json j;
};

// What the top panel shows for a mode: its rate and the unit.
struct RateView {
  const char* ylabel;
  double (*value)(const Json& iv, double dt);
};

double field_rate(const Json& iv, const char* k, double dt) {
  return dt > 0 ? double(iv.value(k, uint64_t(0))) / dt : 0;
}

RateView rate_view(const std::string& mode) {
  if (mode == "bulk")
    return {"goodput, Gbit/s (sent + received)", [](const Json& iv, double dt) {
              return dt > 0 ? double(iv.value("bytes_acked", uint64_t(0)) +
                                     iv.value("bytes_rx", uint64_t(0))) * 8 / dt / 1e9
                            : 0;
            }};
  if (mode == "cps")
    return {"connections/s", [](const Json& iv, double dt) {
              return field_rate(iv, "conns_established", dt);
            }};
  if (mode == "synflood")
    return {"SYN-ACKs/s", [](const Json& iv, double dt) {
              return field_rate(iv, "responses_ok", dt);
            }};
  if (mode == "slowread")
    return {"connections open", [](const Json& iv, double) {
              return double(iv.value("open", uint64_t(0)));
            }};
  return {"responses/s", [](const Json& iv, double dt) {
            return field_rate(iv, "responses_ok", dt);
          }};
}

// gnuplot's string quoting: single quotes, doubled inside.
std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int run_plot(const PlotArgs& a) {
  if (a.inputs.empty()) usage_error("plot needs at least one result: touchstone plot RESULT.json -o FILE.png");
  if (a.output.empty()) usage_error("plot needs -o FILE.png");
  if (a.output.size() < 4 || a.output.compare(a.output.size() - 4, 4, ".png") != 0)
    usage_error("-o " + a.output + ": plot draws PNG; name the file FILE.png");
  check_json_path(a.output, "-o");
  if (!have_gnuplot())
    usage_error("plot draws with gnuplot, which is not installed (apt-get install gnuplot-nox)");
  std::vector<Series> in;
  for (const std::string& p : a.inputs) {
    std::ifstream f(p);
    if (!f) usage_error("plot: cannot read " + p);
    Json j = Json::parse(f, nullptr, false);
    if (j.is_discarded() || !j.is_object()) usage_error("plot: " + p + " is not JSON");
    const std::string cmd = j.value("command", "");
    if (j.value("tool", "") != "touchstone" || (cmd != "gen" && cmd != "demo" && cmd != "merge"))
      usage_error("plot: " + p + " is not the result of touchstone gen, demo or merge");
    if (j.value("mode", "") == "mix")
      usage_error("plot: " + p + " is a traffic mix (gen --config): plot draws results of one "
                  "workload");
    if (!j.contains("intervals") || !j["intervals"].is_array() || !j.contains("start_unix_s"))
      usage_error("plot: " + p + " has no intervals (written by a touchstone older than plot?)");
    std::string label = std::filesystem::path(p).filename().string();
    if (cmd != "merge") label += " (" + j.value("host", "?") + ")";
    in.push_back({p, label, std::move(j)});
  }
  const std::string mode = in[0].j.value("mode", "");
  for (const Series& s : in)
    if (s.j.value("mode", "") != mode)
      usage_error("plot: mixed modes: " + in[0].path + " is " + mode + ", " + s.path + " is " +
                  s.j.value("mode", "?") + " (their rates do not share an axis)");
  const RateView view = rate_view(mode);

  char tmpl[] = "/tmp/touchstone-plot-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("plot: cannot make a temporary directory");
  const std::string dir = tmpl;
  double base = 1e300;
  for (const Series& s : in) base = std::min(base, s.j["start_unix_s"].get<double>());

  bool any_latency = false, any_spectrum = false;
  std::vector<std::string> over_time, spectrum;
  for (size_t i = 0; i < in.size(); ++i) {
    const Json& j = in[i].j;
    const double off = j["start_unix_s"].get<double>() - base;
    // Time series: t (interval's end), rate, errors/s, p50, p99, p99.9 (ms;
    // ? where an interval had no samples).
    const std::string ts = dir + "/series" + std::to_string(i) + ".dat";
    std::ofstream f(ts);
    for (const auto& iv : j["intervals"]) {
      const double s = iv.value("start_s", 0.0), e = iv.value("end_s", 0.0), dt = e - s;
      if (dt <= 0) continue;
      f << off + e << " " << view.value(iv, dt) << " " << field_rate(iv, "errors", dt);
      const Json& l = iv.contains("latency_us") ? iv["latency_us"] : Json();
      if (l.is_object()) {
        any_latency = true;
        f << " " << l.value("p50", 0.0) / 1e3 << " " << l.value("p99", 0.0) / 1e3 << " "
          << l.value("p99_9", 0.0) / 1e3 << "\n";
      } else {
        f << " ? ? ?\n";
      }
    }
    over_time.push_back(ts);
    // The spectrum: for each bucket, 1/(1-p) of the share of samples at or
    // below it, and its upper edge in ms.
    const char* hk = j.contains("latency_histogram")           ? "latency_histogram"
                     : j.contains("syn_ack_latency_histogram") ? "syn_ack_latency_histogram"
                                                               : nullptr;
    const std::string sp = dir + "/spectrum" + std::to_string(i) + ".dat";
    std::ofstream g(sp);
    if (hk) {
      const util::Histogram h = histogram_from_json(j[hk], in[i].path);
      uint64_t seen = 0;
      h.for_each_bucket([&](unsigned b, uint64_t n) {
        const double before = double(seen) / double(h.count());
        seen += n;
        const double p = double(seen) / double(h.count());
        const double v = double(std::min(util::Histogram::bucket_high(b), h.max())) / 1e6;
        // Each bucket as a step: from the share below it to its own share.
        g << 1 / (1 - before) << " " << v << "\n";
        if (p < 1) g << 1 / (1 - p) << " " << v << "\n";
        any_spectrum = true;
      });
    }
    spectrum.push_back(sp);
  }

  std::string gp;
  gp += "set terminal pngcairo noenhanced size 1100," + std::string(any_spectrum ? "1300" : "900") +
        " font ',10'\n";
  gp += "set output " + q(a.output) + "\n";
  gp += "set multiplot layout " + std::string(any_spectrum ? "3" : "2") + ",1 title " +
        q(a.title.empty() ? "touchstone " + mode + ": " + in[0].label +
                                (in.size() > 1 ? " and " + std::to_string(in.size() - 1) + " more" : "")
                          : a.title) +
        "\n";
  gp += "set grid\nset key outside right top\nset xlabel 'time, s'\n";
  // Rate and errors.
  gp += "set ylabel " + q(view.ylabel) + "\nset y2label 'errors/s'\nset ytics nomirror\n"
        "set y2tics\nset yrange [0:*]\nset y2range [0:*]\n";
  gp += "plot ";
  for (size_t i = 0; i < in.size(); ++i)
    gp += std::string(i ? ", " : "") + q(over_time[i]) + " using 1:2 with linespoints lw 2 title " +
          q(in[i].label) + ", " + q(over_time[i]) +
          " using 1:3 axes x1y2 with lines dt 2 title " + q(in[i].label + " errors/s");
  gp += "\nunset y2label\nunset y2tics\nset ytics mirror\n";
  // Latency over time.
  gp += "set ylabel 'latency, ms'\nset logscale y\nset yrange [*:*]\n";
  if (any_latency) {
    gp += "plot ";
    for (size_t i = 0; i < in.size(); ++i)
      gp += std::string(i ? ", " : "") + q(over_time[i]) + " using 1:4 with lines lw 2 title " +
            q(in[i].label + " p50") + ", " + q(over_time[i]) + " using 1:5 with lines title " +
            q(in[i].label + " p99") + ", " + q(over_time[i]) +
            " using 1:6 with lines dt 3 title " + q(in[i].label + " p99.9");
    gp += "\n";
  } else {
    gp += "set label 1 'no latency samples (this mode measures none)' at graph 0.5,0.5 center\n"
          "unset logscale y\nset yrange [0:1]\nplot 2 notitle\nunset label 1\n";
  }
  if (any_spectrum) {
    gp += "unset logscale y\nset logscale x\nset logscale y\nset xlabel 'percentile'\n"
          "set ylabel 'latency, ms'\nset xrange [1:*]\n"
          "set xtics ('0%%' 1, '90%%' 10, '99%%' 100, '99.9%%' 1000, '99.99%%' 10000, "
          "'99.999%%' 100000, '99.9999%%' 1000000)\n";
    gp += "plot ";
    for (size_t i = 0; i < in.size(); ++i)
      gp += std::string(i ? ", " : "") + q(spectrum[i]) + " using 1:2 with lines lw 2 title " +
            q(in[i].label + " (whole run)");
    gp += "\n";
  }
  gp += "unset multiplot\n";
  const bool ok = gnuplot(dir + "/plot.gp", gp);
  std::error_code ec;
  if (ok) std::filesystem::remove_all(dir, ec);
  if (!ok) {
    std::fprintf(stderr, "touchstone: plot: the script and data are kept in %s\n", dir.c_str());
    return 1;
  }
  std::printf("plot: wrote %s (%zu result%s, mode %s)\n", a.output.c_str(), in.size(),
              in.size() == 1 ? "" : "s", mode.c_str());
  return 0;
}

}  // namespace ts::app
