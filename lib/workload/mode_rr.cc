// rr: request/response of fixed sizes on persistent connections.
#include "workload/mode_rr.hh"

#include <algorithm>
#include <cstring>

#include "workload/server.hh"

namespace ts::workload {

namespace {
constexpr size_t kPattern = 64 * 1024;
}  // namespace

RrMode::RrMode(const GenConfig& cfg)
    : req_size_(cfg.req_size), resp_size_(cfg.resp_size), pattern_(kPattern) {
  fill_body_pattern(pattern_.data(), pattern_.size());
}

TcpMode::Read RrMode::read(Exchange& x, tcp::Connection& c, GenStats& s, uint64_t now) const {
  const tcp::Bytes2 r = c.readable();
  const size_t n = size_t(std::min<uint64_t>(r.size(), x.resp_left));
  // Byte for byte against the pattern, where the response has got to.
  uint64_t at = resp_size_ - x.resp_left;
  size_t left = n;
  for (std::span<const uint8_t> part : {r.a, r.b}) {
    const size_t take = std::min(left, part.size());
    for (size_t i = 0; i < take && !x.corrupt;) {
      const size_t p = size_t(at % pattern_.size());
      const size_t run = std::min(take - i, pattern_.size() - p);
      if (std::memcmp(part.data() + i, pattern_.data() + p, run) != 0) x.corrupt = true;
      i += run;
      at += run;
    }
    left -= take;
  }
  s.bytes_rx += n;
  c.consume(n, now);
  x.resp_left -= n;
  if (x.resp_left) return {};
  // The whole response before the whole request was even queued: not an
  // answer to it.
  return {x.req_left == 0 && !x.corrupt ? Outcome::ok : Outcome::bad, true};
}

std::unique_ptr<TcpMode> make_rr_mode(const GenConfig& cfg) { return std::make_unique<RrMode>(cfg); }

}  // namespace ts::workload
