// http: requests on persistent connections (HTTP/1.1): --method (GET by
// default) of --path, or of each line of --paths in turn or at random, with
// --header lines and, for methods that carry one, a --body-size body. A
// response is complete after its header block and Content-Length body (none
// for HEAD); it is ok with a 2xx status, and counted by status code either
// way. The connection stays for the next request whatever the status (as wrk
// keeps it); without a length (or chunked, or unparsable) the response, and
// the connection, end there; so does a server's "Connection: close". With
// `http_close` (gen --close) every request asks for "Connection: close" and
// has a connection of its own (the HTTP form of cps, as wrk -H 'Connection:
// close' runs).
#include <algorithm>
#include <string>
#include <vector>

#include "util/rng.hh"
#include "workload/http.hh"
#include "workload/server.hh"
#include "workload/tcp_mode.hh"

namespace ts::workload {

namespace {

constexpr size_t kBodyPattern = 64 * 1024;

class Http final : public TcpMode {
 public:
  explicit Http(const GenConfig& cfg)
      : close_(cfg.http_close),
        body_size_(cfg.body_size),
        head_(cfg.method == "HEAD"),
        random_(cfg.paths_random),
        rng_(cfg.seed),
        scratch_(kMaxHeaderBlock) {
    std::string extra;
    bool own_host = false;
    for (const std::string& h : cfg.headers) {
      extra += h + "\r\n";
      own_host = own_host || (h.size() > 5 && (h[0] == 'H' || h[0] == 'h') &&
                              std::string_view(h).substr(1, 4) == "ost:");
    }
    const std::string host = own_host ? "" : "Host: " + cfg.host + "\r\n";
    if (body_size_) extra += "Content-Length: " + std::to_string(body_size_) + "\r\n";
    if (close_) extra += "Connection: close\r\n";
    const std::vector<std::string> one{cfg.path};
    for (const std::string& path : cfg.paths.empty() ? one : cfg.paths)
      requests_.push_back(cfg.method + " " + path + " HTTP/1.1\r\n" + host +
                          "User-Agent: touchstone\r\nAccept: */*\r\n" + extra + "\r\n");
    if (body_size_) {
      body_.resize(kBodyPattern);
      fill_body_pattern(body_.data(), body_.size());
    }
  }

  bool connection_per_request() const override { return close_; }
  void begin(Exchange& x) const override {
    x.which = uint32_t(random_ ? rng_.below(requests_.size()) : next_++ % requests_.size());
    x.head = head_;
    x.req_size = x.req_left = requests_[x.which].size() + body_size_;
    x.resp_left = 0;
    x.header_done = false;
    x.status = 0;
  }
  std::span<const uint8_t> request_bytes(const Exchange& x, uint64_t offset) const override {
    const std::string& r = requests_[x.which];
    if (offset < r.size())
      return {reinterpret_cast<const uint8_t*>(r.data()) + offset, r.size() - offset};
    // The body: the pattern, repeated.
    const size_t at = size_t((offset - r.size()) % body_.size());
    return {body_.data() + at, body_.size() - at};
  }
  Read read(Exchange& x, tcp::Connection& c, GenStats& s, uint64_t now) const override {
    if (!x.header_done) {
      const tcp::Bytes2 r = c.readable();
      const std::string_view view = header_view(r.a, r.b, scratch_.data());
      HttpResponse resp;
      const HeadScan head = scan_response(view, resp);
      const size_t end = head.end;
      if (!end) {
        if (view.size() >= kMaxHeaderBlock) return {Outcome::bad, false};
        return {};
      }
      const bool parsed = head.ok;
      s.bytes_rx += end;
      c.consume(end, now);
      // We need the length to find the next response (a HEAD response has
      // none): without it, the response (and the connection) is done.
      if (!parsed || (!x.head && (!resp.has_length || resp.chunked))) {
        x.keep_alive = false;
        return {Outcome::bad, false};
      }
      x.header_done = true;
      x.keep_alive = resp.keep_alive;
      x.resp_left = x.head ? 0 : resp.content_length;
      x.status = uint16_t(resp.status);
      s.count_status(resp.status);
      if (x.resp_left == 0) return complete(x);
    }
    const size_t n = size_t(std::min<uint64_t>(c.readable_size(), x.resp_left));
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

  bool close_;
  std::vector<std::string> requests_;  // each path's request header block
  std::vector<uint8_t> body_;          // the body pattern (with a body)
  uint64_t body_size_;
  bool head_, random_;
  mutable util::Rng rng_;
  mutable uint64_t next_ = 0;
  mutable std::vector<char> scratch_;  // a header block split across the ring
};

}  // namespace

std::unique_ptr<TcpMode> make_http_mode(const GenConfig& cfg) {
  return std::make_unique<Http>(cfg);
}

}  // namespace ts::workload
