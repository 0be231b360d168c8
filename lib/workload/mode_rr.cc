// rr: request/response of fixed sizes on persistent connections.
#include "workload/mode_rr.hh"

#include <algorithm>

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
  const size_t n = size_t(std::min<uint64_t>(c.readable().size(), x.resp_left));
  s.bytes_rx += n;
  c.consume(n, now);
  x.resp_left -= n;
  if (x.resp_left) return {};
  // The whole response before the whole request was even queued: not an
  // answer to it.
  return {x.req_left == 0 ? Outcome::ok : Outcome::bad, true};
}

std::unique_ptr<TcpMode> make_rr_mode(const GenConfig& cfg) { return std::make_unique<RrMode>(cfg); }

}  // namespace ts::workload
