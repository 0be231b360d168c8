// The subcommands' arguments and entry points (main.cc wires them to CLI11).
#pragma once

#include <string>

#include "apps/ping_run.hh"
#include "apps/runtime.hh"

namespace ts::app {

struct ServeArgs {
  CommonArgs common;
  InterfaceArgs iface;
};

struct GenArgs {
  CommonArgs common;
  InterfaceArgs iface;
  WorkloadArgs work;
  std::string target;
};

struct DemoArgs {
  CommonArgs common;
  WorkloadArgs work;
};

struct SimArgs {
  std::string scenario;
  std::string cc = "cubic";
  std::string seed = "1";
  std::string bytes;
  std::string json;
  bool list = false;
};

int run_serve(const ServeArgs& a);
int run_sim(const SimArgs& a);
int run_gen(const GenArgs& a);
int run_demo(const DemoArgs& a);

}  // namespace ts::app
