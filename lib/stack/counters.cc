#include "stack/counters.hh"

namespace ts::stack {

void Counters::for_each(
    const std::function<void(std::string_view, uint64_t, bool, std::string_view)>& f) const {
#define TS_X(name, drop, desc) f(#name, name, drop, desc);
  TS_STACK_COUNTERS(TS_X)
#undef TS_X
#define TS_X(name, drop, desc) f(#name, tcp.name, drop, desc);
  TS_TCP_COUNTERS(TS_X)
#undef TS_X
  for (unsigned i = 1; i < wire::kErrorCount; ++i)
    f(wire::error_name(wire::Error(i)), parse[i], true, wire::error_description(wire::Error(i)));
}

uint64_t Counters::drops() const {
  uint64_t total = 0;
  for_each([&](std::string_view, uint64_t v, bool drop, std::string_view) {
    if (drop) total += v;
  });
  return total;
}

void Counters::merge(const Counters& o) {
#define TS_X(name, drop, desc) name += o.name;
  TS_STACK_COUNTERS(TS_X)
#undef TS_X
#define TS_X(name, drop, desc) tcp.name += o.tcp.name;
  TS_TCP_COUNTERS(TS_X)
#undef TS_X
  for (unsigned i = 0; i < wire::kErrorCount; ++i) parse[i] += o.parse[i];
}

int64_t Counters::get(std::string_view want) const {
  int64_t found = -1;
  for_each([&](std::string_view name, uint64_t v, bool, std::string_view) {
    if (name == want) found = int64_t(v);
  });
  return found;
}

}  // namespace ts::stack
