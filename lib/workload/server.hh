// The servers of `touchstone serve`, as applications on one core's TCP layer:
// echo (every byte back), discard (read and drop), source (send for as long
// as the connection lasts, and drop what arrives: RFC 864's chargen for
// bulk --reverse and --bidir), rr (a response of a set size for every
// request of a set size) and http (HTTP/1.1 with keep-alive and pipelining,
// static files from an index built at start-up or a generated body). They
// run unchanged in the simulator and on a port.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stack/tcp_layer.hh"
#include "util/cache_line.hh"
#include "workload/http.hh"

namespace ts::workload {

// dns and stateless_http answer without connections (stateless.hh); a
// Server with either serves their --fallback stateful connections.
enum class ServerApp : uint8_t { echo, discard, source, rr, http, dns, stateless_http };
const char* server_app_name(ServerApp a);
bool parse_server_app(std::string_view s, ServerApp& out);

// A 200 response's status line and headers, built once (for each file, and
// for the generated body) rather than formatted for every request
// (docs/performance.md, "Instructions").
struct OkHeads {
  std::string keep, close;  // keep-alive, and with "Connection: close"
  std::string_view get(bool keep_alive) const { return keep_alive ? keep : close; }
};

// Files below a root directory, opened and mapped once at start-up so that a
// request costs no system call; every connection sends from the same mapping.
// Files added later are not seen (restart the server).
class FileIndex {
 public:
  struct File {
    const uint8_t* data = nullptr;
    uint64_t size = 0;
    std::string_view content_type;
    OkHeads heads;
  };
  // Walks `root` (following no symbolic link out of it); an error message, or
  // empty on success. At most `max_files` files.
  std::string load(const std::string& root, size_t max_files = 100000);
  ~FileIndex();
  // `path` as decoded from the request target ("/a/b.html"); a directory's
  // index.html answers for "/dir/" and "/dir".
  const File* find(std::string_view path) const;
  size_t size() const { return files_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Mapping {
    void* addr;
    size_t len;
  };
  std::unordered_map<std::string, File> files_;
  std::vector<Mapping> maps_;
  uint64_t bytes_ = 0;
};

struct ServerConfig {
  ServerApp app = ServerApp::echo;
  uint16_t port = 80;
  uint32_t backlog = 1024;
  // rr: a response of resp_size bytes for every req_size bytes received;
  // echo: the request size it counts requests by.
  uint32_t req_size = 64, resp_size = 64;
  // http: files from `files` when set, else a generated body of http_size.
  const FileIndex* files = nullptr;
  uint64_t http_size = 1024;
};

// An HTTP request's status (200, or 400, 404, 414, 501) and file for a server of `cfg`.
int route_http(const ServerConfig& cfg, const HttpRequest& req, const FileIndex::File*& file);
// The response's status line and headers (and, for an error other than to
// HEAD, its short body) into `out` of `cap` (512 is enough); the length.
int format_http_head(char* out, size_t cap, const ServerConfig& cfg, int status, bool head,
                     bool keep, const FileIndex::File* file);
// The 200 heads for `file`, or (null) for the generated body of cfg.http_size.
OkHeads make_ok_heads(const ServerConfig& cfg, const FileIndex::File* file);
// The response's head: a 200's prebuilt (the file's, else `generated`), any
// other status formatted into `buf` (512 bytes).
std::string_view http_head(char* buf, const ServerConfig& cfg, const OkHeads& generated,
                           int status, bool head, bool keep, const FileIndex::File* file);
struct ServerStats {
  uint64_t accepted = 0;      // connections established
  uint64_t closed = 0;        // connections ended (any reason)
  uint64_t aborted = 0;       // ended by a reset or a timeout
  uint64_t requests = 0;      // requests answered: rr's and http's; echo's, one per req_size bytes echoed
  uint64_t http_2xx = 0, http_4xx = 0, http_5xx = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  void merge(const ServerStats& o);
};

class alignas(util::kCacheLine) Server final : public stack::Acceptor, public tcp::Events {
 public:
  Server(stack::TcpLayer& tcp, const ServerConfig& cfg);
  ~Server() override;
  // Starts listening; false if the port is taken.
  bool start();
  const ServerStats& stats() const { return stats_; }
  const ServerConfig& config() const { return cfg_; }

  tcp::Events* on_accept(const tcp::FourTuple& t) override;
  void on_connected(tcp::Connection& c) override;
  void on_readable(tcp::Connection& c) override { serve(c); }
  void on_writable(tcp::Connection& c) override { serve(c); }
  void on_peer_closed(tcp::Connection& c) override;
  void on_closed(tcp::Connection& c, tcp::CloseReason r) override;

 private:
  struct Body {
    const uint8_t* data = nullptr;
    uint64_t size = 0;   // bytes of the body left to queue
    uint64_t offset = 0; // next byte's offset into the body
    bool generated = false;
  };
  // An http response to send once the request's body is read (POST).
  struct Pending {
    int status = 0;  // 0: none
    bool keep = true;
    const FileIndex::File* file = nullptr;
  };
  struct ConnState {
    bool peer_closed = false;
    bool closing = false;     // close() called: nothing more to do
    bool close_after = false; // http: close once the response is queued
    uint64_t rx_partial = 0;  // rr: bytes of the current request
    uint64_t owed = 0;        // rr: responses not yet started
    uint64_t skip = 0;        // http: request body bytes still to discard
    Pending after_body;       // http: the response owed once they are
    Body body;                // the response being queued
  };

  void serve(tcp::Connection& c);
  void serve_echo(tcp::Connection& c, ConnState& s);
  void serve_source(tcp::Connection& c, ConnState& s);
  void serve_rr(tcp::Connection& c, ConnState& s);
  void serve_http(tcp::Connection& c, ConnState& s);
  // Queues as much of the body as fits; true once all of it is queued.
  bool pump_body(tcp::Connection& c, ConnState& s);
  // Starts a response; false when the header does not fit the send buffer yet.
  bool respond(tcp::Connection& c, ConnState& s, int status, bool head, bool keep,
               const FileIndex::File* file);
  void finish_if_done(tcp::Connection& c, ConnState& s);
  size_t send(tcp::Connection& c, const uint8_t* p, size_t n);

  stack::TcpLayer& tcp_;
  ServerConfig cfg_;
  ServerStats stats_;
  std::vector<ConnState> conns_;  // by connection tag
  std::vector<uint8_t> pattern_;  // generated bodies and rr responses
  std::vector<char> scratch_;     // a request header block that wraps the ring
  std::vector<uint8_t> resp_;     // a response's header and the start of its body
  OkHeads generated_heads_;       // the 200 heads of the generated body
};

// The generated body and rr responses: printable, so that a curl to a
// terminal shows something sensible, and position-dependent.
void fill_body_pattern(uint8_t* out, size_t n);

}  // namespace ts::workload
