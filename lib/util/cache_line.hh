// The cache line, for the objects each core writes all the time.
#pragma once

#include <cstddef>

namespace ts::util {

// A core's own objects (its endpoint, stack, TCP layer, steering device,
// workload) are allocated by the main thread, one core's after another's.
// Aligned to this they start on a line of their own and fill whole lines, so
// no core writes a line that another core's object sits on
// (docs/multicore.md, "Measured: 1 core against 2"). The single-producer
// ring's two indices are kept apart by it too (util/spsc_ring.hh).
inline constexpr std::size_t kCacheLine = 64;

}  // namespace ts::util
