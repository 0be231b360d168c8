// rr: request/response of fixed sizes on persistent connections.
#include "workload/mode_rr.hh"

#include <algorithm>
#include <cstring>

#include "workload/server.hh"

namespace ts::workload {

RrMode::RrMode(const GenConfig& cfg)
    : req_size_(cfg.req_size), resp_size_(cfg.resp_size), pattern_(kPattern) {
  fill_body_pattern(pattern_.data(), pattern_.size());
}

bool RrMode::matches(std::span<const uint8_t> part, uint64_t at) const {
  for (size_t i = 0; i < part.size();) {
    const size_t p = size_t(at % kPattern);
    const size_t run = std::min(part.size() - i, kPattern - p);
    if (std::memcmp(part.data() + i, pattern_.data() + p, run) != 0) return false;
    i += run;
    at += run;
  }
  return true;
}

TcpMode::Read RrMode::read(Exchange& x, tcp::Connection& c, GenStats& s, uint64_t now) const {
  const tcp::Bytes2 r = c.readable();
  const size_t n = size_t(std::min<uint64_t>(r.size(), x.resp_left));
  // Byte for byte against the pattern, where the response has got to (the
  // second part only when the readable bytes wrap round the ring).
  const uint64_t at = resp_size_ - x.resp_left;
  const size_t first = std::min(n, r.a.size());
  if (!x.corrupt && (!matches(r.a.first(first), at) ||
                     (n > first && !matches(r.b.first(n - first), at + first))))
    x.corrupt = true;
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
