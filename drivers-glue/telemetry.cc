#include "drivers-glue/telemetry.hh"

#include <rte_eal.h>
#include <rte_telemetry.h>

#include <map>
#include <memory>
#include <mutex>

namespace ts::glue {

namespace {

std::mutex g_mu;  // guards g_handlers; taken only on the telemetry threads and at registration
std::map<std::string, TelHandler>& handlers() {
  static auto* m = new std::map<std::string, TelHandler>();  // never destroyed: callbacks may race exit
  return *m;
}

int dispatch(const char* cmd, const char* params, rte_tel_data* d) {
  TelHandler h;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = handlers().find(cmd);
    if (it == handlers().end()) return -1;
    h = it->second;
  }
  TelReply r;
  h(params ? params : "", r);
  if (r.error) return -1;
  rte_tel_data_start_dict(d);
  for (const auto& [k, v] : r.strings) rte_tel_data_add_dict_string(d, k.c_str(), v.c_str());
  for (const auto& [k, v] : r.numbers) rte_tel_data_add_dict_u64(d, k.c_str(), v);
  if (!r.list_name.empty()) {
    rte_tel_data* arr = rte_tel_data_alloc();
    if (!arr) return -1;
    rte_tel_data_start_array(arr, RTE_TEL_STRING_VAL);
    for (const auto& s : r.list) rte_tel_data_add_array_string(arr, s.c_str());
    rte_tel_data_add_dict_container(d, r.list_name.c_str(), arr, 0);
  }
  return 0;
}

}  // namespace

bool telemetry_register(const std::string& cmd, const std::string& help, TelHandler h) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    handlers()[cmd] = std::move(h);
  }
  // DPDK keeps the pointers: give it strings that live forever.
  static std::vector<std::unique_ptr<std::string>> keep;
  keep.push_back(std::make_unique<std::string>(cmd));
  keep.push_back(std::make_unique<std::string>(help));
  return rte_telemetry_register_cmd(keep[keep.size() - 2]->c_str(), dispatch,
                                    keep.back()->c_str()) == 0;
}

std::string telemetry_socket_path() {
  const char* dir = rte_eal_get_runtime_dir();
  return dir && *dir ? std::string(dir) + "/dpdk_telemetry.v2" : std::string();
}

}  // namespace ts::glue
