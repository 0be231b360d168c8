#include "wire/error.hh"

namespace ts::wire {

namespace {
constexpr const char* kNames[] = {
    "ok",
#define TS_X(name, desc) #name,
    TS_WIRE_ERRORS(TS_X)
#undef TS_X
};
constexpr const char* kDescriptions[] = {
    "no error",
#define TS_X(name, desc) desc,
    TS_WIRE_ERRORS(TS_X)
#undef TS_X
};
static_assert(sizeof kNames / sizeof kNames[0] == kErrorCount);
}  // namespace

const char* error_name(Error e) {
  return unsigned(e) < kErrorCount ? kNames[unsigned(e)] : "invalid";
}
const char* error_description(Error e) {
  return unsigned(e) < kErrorCount ? kDescriptions[unsigned(e)] : "invalid";
}

}  // namespace ts::wire
