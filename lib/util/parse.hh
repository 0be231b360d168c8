// Parsers for the values users type on the command line: durations, sizes,
// rates and probabilities. Each returns nullopt on anything it cannot read
// completely, so a typo is an error instead of a silent default.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ts::util {

// "250ns", "200us", "5ms", "1.5s", "2m", "1h"; a plain number is seconds ("3").
std::optional<uint64_t> parse_duration_ns(std::string_view s);
// "0.01" or "1%"; must lie in [0, 1].
std::optional<double> parse_probability(std::string_view s);
// A non-negative integer, with an optional k/M/G suffix (powers of 1000), "1e6" too.
std::optional<uint64_t> parse_count(std::string_view s);
// Bytes with an optional K/M/G suffix (powers of 1024), optionally followed by "B".
std::optional<uint64_t> parse_bytes(std::string_view s);
// A plain unsigned decimal integer.
std::optional<uint64_t> parse_uint(std::string_view s);

}  // namespace ts::util
