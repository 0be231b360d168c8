// bulk: each connection sends as fast as the path allows, by reference from
// one pattern (zero-copy), for as long as the run lasts; what the peer
// acknowledges is the goodput. Nothing is requested, so nothing is timed.
// With --reverse the target sends and we only read (against serve --app
// source, or any chargen); with --bidir both send at once.
#include <vector>

#include "workload/server.hh"
#include "workload/tcp_mode.hh"

namespace ts::workload {

namespace {

constexpr size_t kPattern = 64 * 1024;

class Bulk final : public TcpMode {
 public:
  explicit Bulk(const GenConfig& cfg) : pattern_(kPattern), sends_(cfg.direction != BulkDirection::receive) {
    fill_body_pattern(pattern_.data(), pattern_.size());
  }
  bool streaming() const override { return true; }
  bool sends() const override { return sends_; }
  void begin(Exchange&) const override {}
  std::span<const uint8_t> request_bytes(const Exchange&, uint64_t) const override { return pattern_; }
  Read read(Exchange&, tcp::Connection& c, GenStats& s, uint64_t now) const override {
    s.bytes_rx += c.readable_size();
    c.consume(c.readable_size(), now);
    return {};
  }

 private:
  std::vector<uint8_t> pattern_;
  bool sends_;
};

}  // namespace

std::unique_ptr<TcpMode> make_bulk_mode(const GenConfig& cfg) { return std::make_unique<Bulk>(cfg); }

}  // namespace ts::workload
