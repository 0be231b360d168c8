#include "util/parse.hh"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace ts::util {

namespace {

// A finite, non-negative decimal number spanning the whole of s.
std::optional<double> parse_number(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.front() == '+') return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Splits "12.5ms" into "12.5" and "ms".
std::pair<std::string_view, std::string_view> split_suffix(std::string_view s) {
  size_t i = s.size();
  while (i > 0 && std::isalpha(static_cast<unsigned char>(s[i - 1])) && s[i - 1] != 'e') --i;
  // "1e6" is a number, but "1s" is not an exponent: only letters after the digits count.
  return {s.substr(0, i), s.substr(i)};
}

std::optional<uint64_t> scaled(std::string_view num, double scale) {
  auto v = parse_number(num);
  if (!v) return std::nullopt;
  const double r = *v * scale;
  if (!(r < 0x1p63)) return std::nullopt;  // beyond what anyone means, and beyond llround
  return uint64_t(std::llround(r));
}

}  // namespace

std::optional<uint64_t> parse_uint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<uint64_t> parse_duration_ns(std::string_view s) {
  auto [num, unit] = split_suffix(s);
  double scale;
  if (unit.empty())
    scale = 1e9;  // a plain number is seconds
  else if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m" || unit == "min")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    return std::nullopt;
  return scaled(num, scale);
}

std::optional<double> parse_probability(std::string_view s) {
  bool percent = !s.empty() && s.back() == '%';
  auto v = parse_number(percent ? s.substr(0, s.size() - 1) : s);
  if (!v) return std::nullopt;
  double p = percent ? *v / 100 : *v;
  if (p > 1) return std::nullopt;
  return p;
}

std::optional<uint64_t> parse_count(std::string_view s) {
  if (auto v = parse_uint(s)) return v;
  auto [num, unit] = split_suffix(s);
  double scale;
  if (unit.empty())
    scale = 1;
  else if (unit == "k" || unit == "K")
    scale = 1e3;
  else if (unit == "M")
    scale = 1e6;
  else if (unit == "G")
    scale = 1e9;
  else
    return std::nullopt;
  return scaled(num, scale);
}

std::optional<uint64_t> parse_bytes(std::string_view s) {
  if (!s.empty() && (s.back() == 'B' || s.back() == 'b')) s.remove_suffix(1);
  if (auto v = parse_uint(s)) return v;
  auto [num, unit] = split_suffix(s);
  double scale;
  if (unit == "k" || unit == "K" || unit == "Ki")
    scale = 1024;
  else if (unit == "M" || unit == "Mi")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "Gi")
    scale = 1024.0 * 1024 * 1024;
  else
    return std::nullopt;
  return scaled(num, scale);
}

}  // namespace ts::util
