#include "workload/pacer.hh"

#include <cmath>

namespace ts::workload {

Pacer::Pacer(double rate, uint64_t limit, size_t backlog)
    : rate_(rate),
      interval_(rate > 0 ? std::max<uint64_t>(1, uint64_t(std::llround(1e9 / rate))) : 0),
      limit_(limit),
      backlog_(rate > 0 ? std::max<size_t>(backlog, 1) : 0) {}

}  // namespace ts::workload
