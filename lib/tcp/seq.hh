// Sequence-number arithmetic modulo 2^32 (RFC 9293 3.4): a < b when the signed
// distance from a to b is positive, which holds across the wrap as long as the
// two are less than 2^31 apart.
#pragma once

#include <cstdint>

namespace ts::tcp {

inline bool seq_lt(uint32_t a, uint32_t b) { return int32_t(a - b) < 0; }
inline bool seq_le(uint32_t a, uint32_t b) { return int32_t(a - b) <= 0; }
inline bool seq_gt(uint32_t a, uint32_t b) { return int32_t(a - b) > 0; }
inline bool seq_ge(uint32_t a, uint32_t b) { return int32_t(a - b) >= 0; }
inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_ge(a, b) ? a : b; }
inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_le(a, b) ? a : b; }
// lo <= x < hi
inline bool seq_in(uint32_t x, uint32_t lo, uint32_t hi) { return seq_le(lo, x) && seq_lt(x, hi); }

}  // namespace ts::tcp
