// touchstone sim --experiment: the congestion-control lab (docs/congestion.md).
// Seeded runs per algorithm on all cores, statistics per metric, Welch's
// t-test for every pair, JSON, and plots drawn by gnuplot.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "apps/commands.hh"
#include "apps/gnuplot.hh"
#include "apps/report.hh"
#include "sim/lab.hh"
#include "sim/stats.hh"
#include "tcp/cc/registry.hh"
#include "util/parse.hh"

namespace ts::app {

namespace {

constexpr uint32_t kMaxRuns = 100000;

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> v;
  size_t b = 0;
  while (b <= s.size()) {
    const size_t e = s.find(',', b);
    v.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return v;
}

// Per algorithm, per metric, the runs' values (in run order).
using Samples = std::map<std::string, std::map<std::string, std::vector<double>>>;

nlohmann::ordered_json number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}

std::string replay_of(const SimArgs& a, const sim::ExperimentInfo& e, tcp::CcAlgo cc,
                      uint64_t seed, bool with_against) {
  std::string s = std::string("touchstone sim --experiment ") + e.name + " --cc " +
                  tcp::cc_name(cc) + " --runs 1 --seed " + std::to_string(seed);
  if (with_against) s += " --against " + a.against;
  if (a.no_sack) s += " --no-sack";
  if (a.pacing) s += " --pacing";
  if (!a.duration_scale.empty()) s += " --duration-scale " + a.duration_scale;
  return s;
}

// A run's trace for gnuplot, a block per flow (blank lines between, so each
// flow is an index); returns the number of flows.
uint32_t write_trace(std::ostream& f, const sim::LabRun& r, uint64_t seed) {
  f << "# time_s flow cwnd_kb srtt_ms mbps queue_packets (run seed " << seed << ")\n";
  uint32_t flows = 0;
  for (const sim::LabSample& p : r.trace) flows = std::max(flows, p.flow + 1);
  for (uint32_t fl = 0; fl < flows; ++fl) {
    for (const sim::LabSample& p : r.trace)
      if (p.flow == fl)
        f << p.t_s << ' ' << p.flow << ' ' << p.cwnd_kb << ' ' << p.srtt_ms << ' ' << p.mbps
          << ' ' << p.queue << '\n';
    f << "\n\n";
  }
  return flows;
}

std::string file_safe(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  return s;
}

// The plots: per algorithm, the trace of its representative run (the one
// whose headline metric is the median): cwnd, throughput and RTT per flow and
// the bottleneck queue over time; per metric, a box plot over the
// algorithms (whiskers at the 5% and 95% quantiles); for random-loss,
// throughput against the loss rate beside Mathis et al.'s formula.
std::vector<std::string> write_plots(const std::string& dir, const sim::ExperimentInfo& e,
                                     const sim::LabResults& res, const Samples& samples,
                                     const std::vector<std::string>& algos,
                                     const std::map<std::string, double>& refs) {
  std::vector<std::string> made;
  const std::string base = dir + "/" + e.name;
  const std::vector<sim::LabJob>& jobs = res.jobs;
  // Representative runs, per algorithm and condition: the median by the
  // first metric (in name order) of the condition.
  size_t conditions = 0;
  for (const sim::LabJob& j : jobs) conditions = std::max(conditions, j.condition + 1);
  for (size_t cond = 0; cond < conditions; ++cond)
  for (const std::string& algo : algos) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < jobs.size(); ++i)
      if (tcp::cc_name(jobs[i].algo) == algo && jobs[i].condition == cond &&
          !res.metrics[i].empty())
        idx.push_back(i);
    if (idx.empty()) continue;
    const std::string& label = jobs[idx[0]].condition_label;
    const std::string stem = base + "-" + algo + (label.empty() ? "" : "-" + file_safe(label));
    const std::string key = res.metrics[idx[0]].begin()->first;
    std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) {
      return res.metrics[x].at(key) < res.metrics[y].at(key);
    });
    const size_t rep = idx[idx.size() / 2];
    // Runs are deterministic: the median run again, traced (so traces of
    // all runs need not be kept).
    sim::LabSetup traced = jobs[rep].setup;
    sim::enable_trace(traced);
    const sim::LabRun r = sim::run_lab(traced, jobs[rep].seed);
    const std::string dat = stem + "-trace.dat";
    std::ofstream f(dat);
    const uint32_t flows = write_trace(f, r, jobs[rep].seed);
    f.close();
    const std::string png = stem + "-trace.png";
    std::string gp = "set terminal pngcairo noenhanced size 1000,1100\nset output '" + png + "'\n" +
                     "array N[" + std::to_string(flows) + "] = [" ;
    for (uint32_t fl = 0; fl < flows; ++fl) gp += (fl ? "," : "") + std::string("\"flow ") +
        std::to_string(fl) + " (" + tcp::cc_name(jobs[rep].setup.flows[fl].cc) + ")\"";
    gp += "]\nset multiplot layout 4,1 title '" + std::string(e.name) + ": " + algo +
          ", seed " + std::to_string(jobs[rep].seed) +
          (jobs[rep].condition_label.empty() ? "" : ", " + jobs[rep].condition_label) +
          " (the median run)'\nset grid\nset key outside right\n"
          "set ylabel 'cwnd (KB)'\nplot for [i=0:" + std::to_string(flows - 1) + "] '" + dat +
          "' index i using 1:3 with lines title N[i+1]\n"
          "set ylabel 'throughput (Mbit/s)'\nplot for [i=0:" + std::to_string(flows - 1) +
          "] '" + dat + "' index i using 1:5 with lines title N[i+1]\n"
          "set ylabel 'smoothed RTT (ms)'\nplot for [i=0:" + std::to_string(flows - 1) +
          "] '" + dat + "' index i using 1:4 with lines title N[i+1]\n"
          "set ylabel 'bottleneck queue (packets)'\nset xlabel 'time (s)'\nplot '" + dat +
          "' index 0 using 1:6 with lines title 'queue'\nunset multiplot\n";
    if (gnuplot(stem + "-trace.gp", gp)) made.push_back(png);
  }
  // Box plots per metric.
  std::set<std::string> metrics;
  for (const auto& [algo, m] : samples)
    for (const auto& [name, v] : m) metrics.insert(name);
  for (const std::string& metric : metrics) {
    const std::string stem = base + "-" + file_safe(metric);
    std::ofstream f(stem + ".dat");
    f << "# x algorithm q05 q25 median q75 q95 mean\n";
    int x = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (const std::string& algo : algos) {
      auto it = samples.find(algo);
      if (it == samples.end() || !it->second.count(metric)) continue;
      const sim::Summary s = sim::summarize(it->second.at(metric));
      f << x++ << ' ' << algo << ' ' << s.q05 << ' ' << s.q25 << ' ' << s.median << ' ' << s.q75
        << ' ' << s.q95 << ' ' << s.mean << '\n';
      lo = std::min(lo, s.q05);
      hi = std::max(hi, s.q95);
    }
    f.close();
    if (x == 0) continue;
    // Every value the same: gnuplot refuses an empty range, so give it one.
    const std::string yrange =
        hi > lo ? "" : "set yrange [" + std::to_string(lo - std::max(std::fabs(lo) * 0.1, 0.01)) +
                           ":" + std::to_string(hi + std::max(std::fabs(hi) * 0.1, 0.01)) + "]\n";
    const std::string dat = "'" + stem + ".dat'";
    const std::string gp =
        "set terminal pngcairo noenhanced size 800,500\nset output '" + stem + ".png'\n"
        "set title '" + e.name + ": " + metric + " (box: quartiles, whiskers: 5% and 95%)'\n"
        "set style fill empty\nset boxwidth 0.5\nset grid ytics\nset key outside bottom\n"
        "set xrange [-0.7:" + std::to_string(x) + "-0.3]\nset ylabel '" + metric + "'\n" +
        yrange + "plot " + dat + " using 1:4:3:7:6:xticlabels(2) notitle with candlesticks "
        "whiskerbars 0.5, " + dat + " using 1:5:5:5:5 with candlesticks lw 3 title 'median', " + dat +
        " using 1:8 with points pt 2 ps 1.5 title 'mean'\n";
    if (gnuplot(stem + ".gp", gp)) made.push_back(stem + ".png");
  }
  // Throughput against loss rate.
  if (std::string_view(e.name) == "random-loss") {
    const std::string stem = base + "-throughput-vs-loss";
    std::ofstream f(stem + ".dat");
    const auto levels = sim::random_loss_levels();
    size_t blocks = 0;
    std::string titles;
    for (const std::string& algo : algos) {
      auto it = samples.find(algo);
      if (it == samples.end()) continue;
      f << "# " << algo << ": loss median q25 q75\n";
      for (const sim::LossLevel& l : levels) {
        auto m = it->second.find(std::string("throughput_mbps@") + l.label);
        if (m == it->second.end()) continue;
        const sim::Summary s = sim::summarize(m->second);
        f << l.p << ' ' << s.median << ' ' << s.q25 << ' ' << s.q75 << '\n';
      }
      f << "\n\n";
      titles += (blocks ? "," : "") + std::string("\"") + algo + "\"";
      ++blocks;
    }
    f << "# Mathis et al.\n";
    for (const sim::LossLevel& l : levels) {
      auto r = refs.find(std::string("mathis_mbps@") + l.label);
      if (r != refs.end()) f << l.p << ' ' << r->second << ' ' << r->second << ' ' << r->second << '\n';
    }
    f.close();
    if (blocks) {
      const std::string gp =
          "set terminal pngcairo noenhanced size 800,550\nset output '" + stem + ".png'\n"
          "set title 'random-loss: throughput against loss (median, quartiles)'\n"
          "set logscale xy\nset grid\nset xlabel 'loss probability'\nset ylabel 'Mbit/s'\n"
          "array T[" + std::to_string(blocks) + "] = [" + titles + "]\nplot for [i=0:" +
          std::to_string(blocks - 1) + "] '" + stem +
          ".dat' index i using 1:2:3:4 with yerrorlines title T[i+1], '' index " +
          std::to_string(blocks) +
          " using 1:2 with lines dt 2 lw 2 title 'Mathis: MSS/RTT * 1.22/sqrt(p)'\n";
      if (gnuplot(stem + ".gp", gp)) made.push_back(stem + ".png");
    }
  }
  return made;
}

}  // namespace

int run_lab_experiment(const SimArgs& a) {
  const sim::ExperimentInfo* e = sim::find_experiment(a.experiment);
  if (!e) {
    std::string names;
    for (const auto& x : sim::experiments()) names += (names.empty() ? "" : ", ") + std::string(x.name);
    usage_error("--experiment '" + a.experiment + "' is unknown (one of " + names + "; see --list)");
  }
  for (const char* f : {"--scenario", "--bytes", "--trace"})
    if (a.given.has(f)) not_applicable(f, "--experiment (it runs its own network)");
  sim::LabOptions o;
  const std::string cc_list = a.given.has("--cc") ? a.cc : e->default_cc;
  std::vector<std::string> algos;
  for (const std::string& name : split_commas(cc_list)) {
    const tcp::CcInfo* info = tcp::find_cc(name);
    if (!info)
      usage_error("--cc '" + name + "' is not one of " + tcp::cc_names() + " (--cc A,B,...)");
    if (std::find(algos.begin(), algos.end(), name) != algos.end())
      usage_error("--cc names " + name + " twice");
    algos.push_back(name);
    o.algos.push_back(info->algo);
  }
  if (a.given.has("--against")) {
    if (!e->competition) not_applicable("--against", std::string("--experiment ") + e->name);
    const tcp::CcInfo* info = tcp::find_cc(a.against);
    if (!info) usage_error("--against '" + a.against + "' is not one of " + tcp::cc_names());
    o.against = info->algo;
  }
  const auto runs = util::parse_uint(a.runs);
  if (!runs || *runs < 1 || *runs > kMaxRuns)
    usage_error("--runs '" + a.runs + "' is not a number of runs from 1 to 100000");
  o.runs = uint32_t(*runs);
  const auto seed = util::parse_uint(a.seed);
  if (!seed) usage_error("--seed '" + a.seed + "' is not an unsigned integer");
  o.seed = *seed;
  o.sack = !a.no_sack;
  o.pacing = a.pacing;
  if (!a.duration_scale.empty()) {
    char* end = nullptr;
    const double v = std::strtod(a.duration_scale.c_str(), &end);
    if (end == a.duration_scale.c_str() || *end || !(v > 0) || v > 10)
      usage_error("--duration-scale '" + a.duration_scale + "' is not a factor above 0 and at most 10");
    o.duration_scale = v;
  }
  unsigned jobs_n = std::max(1u, std::thread::hardware_concurrency());
  if (a.given.has("--jobs")) {
    const auto j = util::parse_uint(a.jobs);
    if (!j || *j < 1 || *j > 1024) usage_error("--jobs '" + a.jobs + "' is not from 1 to 1024");
    jobs_n = unsigned(*j);
  }
  check_json_path(a.json);
  if (!a.plot.empty()) {
    if (!have_gnuplot())
      usage_error("--plot draws with gnuplot, which is not installed (apt-get install gnuplot-nox)");
    struct stat st {};
    if (stat(a.plot.c_str(), &st) != 0) {
      if (mkdir(a.plot.c_str(), 0755) != 0)
        usage_error("--plot: cannot create directory " + a.plot);
    } else if (!S_ISDIR(st.st_mode)) {
      usage_error("--plot: " + a.plot + " is not a directory");
    }
    if (access(a.plot.c_str(), W_OK) != 0) usage_error("--plot: cannot write in " + a.plot);
  }

  const size_t total = sim::plan_experiment(*e, o).size();
  std::printf("touchstone sim --experiment %s (slides %s): %s\n  claim: %s\n  %u run%s of %s, "
              "seeds %llu-%llu, %zu runs in all on %u thread%s%s%s\n",
              e->name, e->slides, e->description, e->claim, o.runs, o.runs == 1 ? "" : "s",
              cc_list.c_str(), (unsigned long long)o.seed,
              (unsigned long long)(o.seed + o.runs - 1), total, jobs_n,
              jobs_n == 1 ? "" : "s", o.sack ? "" : ", without SACK", o.pacing ? ", paced" : "");
  if (e->competition)
    std::printf("  each against a flow of %s\n", tcp::cc_name(o.against));
  std::fflush(stdout);

  // A progress line every two seconds.
  const auto wall0 = std::chrono::steady_clock::now();
  auto last = wall0;
  auto progress = [&](size_t finished, size_t all) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(2)) return;
    last = now;
    std::printf("[%7.1fs] %zu of %zu runs done\n",
                std::chrono::duration<double>(now - wall0).count(), finished, all);
    std::fflush(stdout);
  };
  sim::LabResults res = sim::run_experiment(*e, o, jobs_n, progress);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const std::vector<sim::LabJob>& jobs = res.jobs;
  const Samples& samples = res.samples;
  const double cpu_s = res.cpu_s, sim_s = res.sim_s;

  // Failures: the replay command, and the run's trace with --plot.
  nlohmann::ordered_json failures = nlohmann::ordered_json::array();
  for (size_t i = 0; i < jobs.size(); ++i) {
    const sim::LabRun& run = res.runs[i];
    if (run.failure.empty()) continue;
    const std::string algo = tcp::cc_name(jobs[i].algo);
    const std::string replay = replay_of(a, *e, jobs[i].algo, jobs[i].seed, e->competition);
    std::printf("FAILED: %s, seed %llu%s%s: %s\n  replay: %s\n", algo.c_str(),
                (unsigned long long)jobs[i].seed, jobs[i].condition_label.empty() ? "" : ", ",
                jobs[i].condition_label.c_str(), run.failure.c_str(), replay.c_str());
    failures.push_back({{"algorithm", algo}, {"seed", jobs[i].seed},
                        {"condition", jobs[i].condition_label},
                        {"failure", run.failure}, {"replay", replay}});
    // The failing run's trace, for a look before replaying it: in the plot
    // directory, else in lab-traces/ (runs are deterministic, so running it
    // again with a trace gives the very run).
    const std::string dir = a.plot.empty() ? "lab-traces" : a.plot;
    mkdir(dir.c_str(), 0755);
    sim::LabSetup s = jobs[i].setup;
    sim::enable_trace(s);
    const sim::LabRun traced = sim::run_lab(s, jobs[i].seed);
    const std::string path = dir + "/failed-" + e->name + "-" + algo + "-seed" +
                             std::to_string(jobs[i].seed) +
                             (jobs[i].condition_label.empty() ? "" : "-" + file_safe(jobs[i].condition_label)) +
                             ".dat";
    std::ofstream f(path);
    write_trace(f, traced, jobs[i].seed);
    std::printf("  trace: %s%s\n", path.c_str(), f ? "" : " (could not be written)");
  }
  const auto refs = sim::experiment_references(*e, o);

  // Print the table: per metric, a row per algorithm.
  std::set<std::string> metric_names;
  for (const auto& [algo, m] : samples)
    for (const auto& [name, v] : m) metric_names.insert(name);
  nlohmann::ordered_json jalgos = nlohmann::ordered_json::object();
  for (const std::string& algo : algos) jalgos[algo] = nlohmann::ordered_json::object();
  for (const std::string& metric : metric_names) {
    std::printf("\n%s\n  %-9s %5s %10s %10s %10s %10s %10s %10s %10s\n", metric.c_str(),
                "algorithm", "n", "mean", "median", "stddev", "q05", "q25", "q75", "q95");
    for (const std::string& algo : algos) {
      auto it = samples.find(algo);
      if (it == samples.end() || !it->second.count(metric)) continue;
      const sim::Summary s = sim::summarize(it->second.at(metric));
      std::printf("  %-9s %5zu %10.4g %10.4g %10.4g %10.4g %10.4g %10.4g %10.4g\n", algo.c_str(),
                  s.n, s.mean, s.median, s.stddev, s.q05, s.q25, s.q75, s.q95);
      jalgos[algo][metric] = {{"n", s.n},           {"mean", s.mean}, {"median", s.median},
                              {"stddev", s.stddev}, {"q05", s.q05},   {"q25", s.q25},
                              {"q75", s.q75},       {"q95", s.q95}};
    }
    auto ref = refs.find("mathis_mbps" + metric.substr(std::min(metric.find('@'), metric.size())));
    if (ref != refs.end() && metric.rfind("throughput_mbps@", 0) == 0)
      std::printf("  %-9s %5s %10.4g   (Mathis et al.: MSS/RTT * 1.22/sqrt(p))\n", "mathis", "",
                  ref->second);
  }
  // Every pair, every metric: Welch's t-test.
  nlohmann::ordered_json comparisons = nlohmann::ordered_json::array();
  if (algos.size() > 1) std::printf("\nWelch's t-test (p < 0.05: the difference is unlikely to be noise)\n");
  for (size_t x = 0; x < algos.size(); ++x)
    for (size_t y = x + 1; y < algos.size(); ++y)
      for (const std::string& metric : metric_names) {
        auto ax = samples.find(algos[x]), ay = samples.find(algos[y]);
        if (ax == samples.end() || ay == samples.end() || !ax->second.count(metric) ||
            !ay->second.count(metric))
          continue;
        const sim::TTest t = sim::welch(ax->second.at(metric), ay->second.at(metric));
        if (!t.valid) continue;
        const bool real = t.p < 0.05;
        std::printf("  %-9s vs %-9s %-28s t %8.3g  df %7.1f  p %.3g  %s\n", algos[x].c_str(),
                    algos[y].c_str(), metric.c_str(), t.t, t.df, t.p,
                    real ? "different" : "likely noise");
        comparisons.push_back({{"a", algos[x]}, {"b", algos[y]}, {"metric", metric},
                               {"t", number(t.t)}, {"df", t.df}, {"p", t.p},
                               {"significant", real}});
      }
  std::printf("\n%zu runs, %.1f simulated seconds in %.1f s of CPU (%.1f simulated seconds per "
              "CPU second), %.1f s of wall time\n",
              jobs.size(), sim_s, cpu_s, cpu_s > 0 ? sim_s / cpu_s : 0.0, wall_s);
  if (!a.plot.empty()) {
    const auto made = write_plots(a.plot, *e, res, samples, algos, refs);
    std::printf("plots: %zu PNG file%s in %s\n", made.size(), made.size() == 1 ? "" : "s",
                a.plot.c_str());
  }
  if (!a.json.empty()) {
    nlohmann::ordered_json j = json_meta("sim");
    j["experiment"] = e->name;
    j["slides"] = e->slides;
    j["claim"] = e->claim;
    j["runs"] = o.runs;
    j["seed"] = o.seed;
    j["sack"] = o.sack;
    j["pacing"] = o.pacing;
    j["duration_scale"] = o.duration_scale;
    if (e->competition) j["against"] = tcp::cc_name(o.against);
    j["algorithms"] = jalgos;
    j["comparisons"] = comparisons;
    nlohmann::ordered_json jr = nlohmann::ordered_json::object();
    for (const auto& [k, v] : refs) jr[k] = v;
    j["references"] = jr;
    j["failures"] = failures;
    j["simulated_s"] = sim_s;
    j["cpu_s"] = cpu_s;
    j["simulated_s_per_cpu_s"] = cpu_s > 0 ? sim_s / cpu_s : 0.0;
    j["wall_s"] = wall_s;
    write_json_file(a.json, j);
  }
  return failures.empty() ? 0 : 1;
}

}  // namespace ts::app
