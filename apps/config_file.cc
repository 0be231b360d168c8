#include "apps/config_file.hh"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "apps/runtime.hh"

namespace ts::app {

namespace {

// Keys that belong to the run, not to one workload of a mix.
const std::set<std::string, std::less<>> kRunOnly = {"--json", "--hdr-log", "--warmup",
                                                     "--config"};

std::string flag_of(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

struct Where {
  const std::string& file;
  [[noreturn]] void fail(const toml::node& n, const std::string& what) const {
    throw UsageError(file + ":" + std::to_string(n.source().begin.line) + ": " + what);
  }
};

// A key's value as the option's arguments: none for a flag set to true
// (`present` false for one set to false), one per element of an array.
std::vector<std::string> values_of(const toml::node& n, const CLI::Option& opt,
                                   const std::string& key, const Where& w, bool& present) {
  present = true;
  const bool flag = opt.get_expected_min() == 0;
  if (flag) {
    if (!n.is_boolean()) w.fail(n, "'" + key + "' is a switch: give it true or false");
    present = n.as_boolean()->get();
    return {};
  }
  auto one = [&](const toml::node& v) -> std::string {
    if (auto s = v.as_string()) return s->get();
    if (auto i = v.as_integer()) return std::to_string(i->get());
    if (auto f = v.as_floating_point()) {
      char b[64];
      std::snprintf(b, sizeof b, "%.17g", f->get());
      return b;
    }
    w.fail(v, "'" + key + "' needs a string or a number");
  };
  if (auto a = n.as_array()) {
    if (opt.get_items_expected_max() <= 1)
      w.fail(n, "'" + key + "' takes one value, not a list");
    std::vector<std::string> out;
    for (const toml::node& v : *a) out.push_back(one(v));
    return out;
  }
  if (n.is_table()) w.fail(n, "'" + key + "' is not a table (only [[workload]] is)");
  return {one(n)};
}

// Sets `opt` from strings, as if the command line had said it.
void set_option(CLI::Option* opt, const std::vector<std::string>& vals, const toml::node& n,
                const Where& w) {
  try {
    if (vals.empty())
      opt->add_result("true");
    else
      for (const std::string& v : vals) opt->add_result(v);
    opt->run_callback();
  } catch (const CLI::Error& e) {
    w.fail(n, opt->get_name() + ": " + e.what());
  }
}

}  // namespace

void apply_config_file(const std::string& path, CLI::App* cmd,
                       const std::function<void(CLI::App&, MixEntry&)>& add_options,
                       std::vector<MixEntry>& mix) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    if (!src.begin.line) throw UsageError("--config " + path + ": " + std::string(e.description()));
    throw UsageError(path + ":" + std::to_string(src.begin.line) + ": " +
                     std::string(e.description()));
  }
  const Where w{path};
  // What the command line gave, before the file adds to it.
  std::set<std::string> cli;
  for (const CLI::Option* o : cmd->get_options())
    if (o->count()) cli.insert(o->get_name());

  // The workload options, as a [[workload]] table may use them.
  MixEntry probe_entry;
  CLI::App probe;
  add_options(probe, probe_entry);
  auto is_workload_key = [&](const std::string& flag) {
    return probe.get_option_no_throw(flag) != nullptr && !kRunOnly.count(flag);
  };

  const toml::node* tables = nullptr;
  std::map<std::string, std::pair<std::vector<std::string>, bool>> top_workload;  // defaults
  for (const auto& [k, node] : doc) {
    const std::string key(k.str());
    if (key == "workload") {
      if (!node.is_array_of_tables())
        w.fail(node, "'workload' must be tables: write each as [[workload]]");
      tables = &node;
      continue;
    }
    const std::string flag = flag_of(key);
    CLI::Option* opt = cmd->get_option_no_throw(flag);
    if (!opt || flag == "--config" || flag == "--help")
      w.fail(node, "unknown key '" + key + "' (keys are gen's flags without the dashes; see "
                   "touchstone gen --help)");
    bool present = false;
    const std::vector<std::string> vals = values_of(node, *opt, key, w, present);
    if (is_workload_key(flag)) top_workload[flag] = {vals, present};
    if (cli.count(opt->get_name()) || !present) continue;  // the command line wins
    set_option(opt, vals, node, w);
  }
  if (!tables) return;

  int index = 0;
  for (const toml::node& tn : *tables->as_array()) {
    const toml::table& t = *tn.as_table();
    ++index;
    MixEntry e;
    e.line = int(tn.source().begin.line);
    // Arguments by flag: the file's top-level defaults, the table's keys, the
    // command line's workload flags, each overriding the one before.
    std::map<std::string, std::pair<std::vector<std::string>, bool>> args = top_workload;
    CLI::App app;
    add_options(app, e);
    for (const auto& [k, node] : t) {
      const std::string key(k.str());
      if (key == "name") {
        if (!node.is_string()) w.fail(node, "a workload's 'name' is a string");
        e.name = node.as_string()->get();
        continue;
      }
      if (key == "cores") {
        if (auto i = node.as_integer())
          e.cores = std::to_string(i->get());
        else if (auto s = node.as_string())
          e.cores = s->get();
        else
          w.fail(node, "'cores' is a count (2) or a share (\"70%\")");
        continue;
      }
      const std::string flag = flag_of(key);
      if (kRunOnly.count(flag))
        w.fail(node, "'" + key + "' belongs to the whole run: put it above the [[workload]] tables");
      CLI::Option* opt = app.get_option_no_throw(flag);
      if (!opt || flag == "--help")
        w.fail(node, "unknown key '" + key + "' in a [[workload]] (its keys: name, cores, target, "
                     "and the workload flags of touchstone gen --help)");
      bool present = false;
      std::vector<std::string> vals = values_of(node, *opt, key, w, present);
      args[flag] = {std::move(vals), present};
    }
    for (const std::string& flag : cli) {
      if (!is_workload_key(flag)) continue;
      const CLI::Option* o = cmd->get_option_no_throw(flag);
      const bool is_flag = o->get_expected_min() == 0;
      args[flag] = {is_flag ? std::vector<std::string>{} : o->results(), true};
    }
    if (e.name.empty()) e.name = "workload" + std::to_string(index);
    for (const auto& [flag, v] : args)
      if (v.second) e.given.names.insert(flag);
    for (const CLI::Option* o : probe.get_options())
      if (is_workload_key(o->get_name())) e.workload_flags.insert(o->get_name());
    std::vector<std::string> argv;  // CLI11 takes them last first
    for (const auto& [flag, v] : args) {
      if (!v.second) continue;
      if (v.first.empty()) {
        argv.push_back(flag);
        continue;
      }
      for (const std::string& x : v.first) {
        argv.push_back(flag);
        argv.push_back(x);
      }
    }
    std::reverse(argv.begin(), argv.end());
    try {
      app.parse(argv);
    } catch (const CLI::ParseError& err) {
      w.fail(tn, "workload '" + e.name + "': " + err.what());
    }
    mix.push_back(std::move(e));
  }
}

}  // namespace ts::app
