// rr's exchange, which cps repeats on a connection of its own (mode_cps.cc).
#pragma once

#include <vector>

#include "workload/tcp_mode.hh"

namespace ts::workload {

// A request is --req-size bytes of a pattern; its response is complete after
// --resp-size bytes (an echo server answers the request's own size, `serve
// --app rr` its --resp-size for every --req-size received), and must be the
// same pattern from its start (both servers send it so): a response that is
// not is counted bad.
class RrMode : public TcpMode {
 public:
  explicit RrMode(const GenConfig& cfg);
  void begin(Exchange& x) const override {
    x.req_size = x.req_left = req_size_;
    x.resp_left = resp_size_;
    x.corrupt = false;
  }
  std::span<const uint8_t> request_bytes(const Exchange&, uint64_t offset) const override {
    const size_t at = size_t(offset % kPattern);
    return {pattern_.data() + at, kPattern - at};
  }
  Read read(Exchange& x, tcp::Connection& c, GenStats& s, uint64_t now) const override;

 private:
  // The pattern's length: a power of two, so that offsets into it are a mask.
  static constexpr size_t kPattern = 64 * 1024;
  // Whether `part` is the pattern from offset `at` on.
  bool matches(std::span<const uint8_t> part, uint64_t at) const;

  uint32_t req_size_, resp_size_;
  std::vector<uint8_t> pattern_;
};

}  // namespace ts::workload
