// http: GET --path on persistent connections (HTTP/1.1). A response is
// complete after its header block and Content-Length body; it is ok with a
// 2xx status, and counted by status code either way. The connection stays
// for the next request whatever the status (as wrk keeps it); without a
// length (or chunked, or unparsable) the response, and the connection, end
// there; so does a server's "Connection: close".
#include <algorithm>
#include <string>
#include <vector>

#include "workload/http.hh"
#include "workload/tcp_mode.hh"

namespace ts::workload {

namespace {

class Http final : public TcpMode {
 public:
  explicit Http(const GenConfig& cfg)
      : request_("GET " + cfg.path + " HTTP/1.1\r\nHost: " + cfg.host +
                 "\r\nUser-Agent: touchstone\r\nAccept: */*\r\n\r\n"),
        scratch_(kMaxHeaderBlock) {}

  void begin(Exchange& x) const override {
    x.req_size = x.req_left = request_.size();
    x.resp_left = 0;
    x.header_done = false;
    x.status = 0;
  }
  std::span<const uint8_t> request_bytes(uint64_t offset) const override {
    return {reinterpret_cast<const uint8_t*>(request_.data()) + offset, request_.size() - offset};
  }
  Read read(Exchange& x, tcp::Connection& c, GenStats& s, uint64_t now) const override {
    if (!x.header_done) {
      const tcp::Bytes2 r = c.readable();
      const std::string_view view = header_view(r.a, r.b, scratch_.data());
      const size_t end = find_header_end(view);
      if (!end) {
        if (view.size() >= kMaxHeaderBlock) return {Outcome::bad, false};
        return {};
      }
      HttpResponse resp;
      const bool parsed = parse_response(view.substr(0, end), resp);
      s.bytes_rx += end;
      c.consume(end, now);
      // We need the length to find the next response: without it, the
      // response (and the connection) is done.
      if (!parsed || !resp.has_length || resp.chunked) {
        x.keep_alive = false;
        return {Outcome::bad, false};
      }
      x.header_done = true;
      x.keep_alive = resp.keep_alive;
      x.resp_left = resp.content_length;
      x.status = uint16_t(resp.status);
      s.count_status(resp.status);
      if (x.resp_left == 0) return complete(x);
    }
    const size_t n = size_t(std::min<uint64_t>(c.readable().size(), x.resp_left));
    s.bytes_rx += n;
    c.consume(n, now);
    x.resp_left -= n;
    if (x.resp_left) return {};
    if (x.req_left) return {Outcome::bad, false};  // answered before it was asked
    return complete(x);
  }

 private:
  static Read complete(const Exchange& x) {
    const bool ok = x.status >= 200 && x.status < 300;
    return {ok ? Outcome::ok : Outcome::bad, x.keep_alive};
  }

  std::string request_;
  mutable std::vector<char> scratch_;  // a header block split across the ring
};

}  // namespace

std::unique_ptr<TcpMode> make_http_mode(const GenConfig& cfg) {
  return std::make_unique<Http>(cfg);
}

}  // namespace ts::workload
