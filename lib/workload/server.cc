#include "workload/server.hh"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace ts::workload {

namespace {
constexpr size_t kPatternSize = 64 * 1024;  // a generated body repeats this
// The pattern is stored 17 times over, so that a generated body can be
// referenced (zero-copy) in pieces of up to 1 MiB from any offset.
constexpr size_t kPatternCopies = 17;
constexpr size_t kMaxPath = 4096;
constexpr size_t kResponseBuffer = 16 * 1024;
}  // namespace

const char* server_app_name(ServerApp a) {
  switch (a) {
    case ServerApp::echo: return "echo";
    case ServerApp::discard: return "discard";
    case ServerApp::source: return "source";
    case ServerApp::rr: return "rr";
    case ServerApp::http: return "http";
    case ServerApp::dns: return "dns";
    case ServerApp::stateless_http: return "stateless-http";
  }
  return "?";
}

bool parse_server_app(std::string_view s, ServerApp& out) {
  for (ServerApp a : {ServerApp::echo, ServerApp::discard, ServerApp::source, ServerApp::rr,
                      ServerApp::http, ServerApp::dns, ServerApp::stateless_http})
    if (s == server_app_name(a)) {
      out = a;
      return true;
    }
  return false;
}

void fill_body_pattern(uint8_t* out, size_t n) {
  // Lines of 64 characters: the offset in hex, then letters, then a newline.
  for (size_t i = 0; i < n; ++i) {
    const size_t col = i % 64;
    out[i] = col == 63 ? '\n' : uint8_t('a' + (i / 64 + col) % 26);
  }
}

int route_http(const ServerConfig& cfg, const HttpRequest& req, const FileIndex::File*& file) {
  file = nullptr;
  if (req.method == Method::other) return 501;
  if (!cfg.files) return 200;
  char path[kMaxPath];
  const long len = target_to_path(req.target, path, sizeof path);
  if (len < 0) return req.target.size() >= kMaxPath ? 414 : 400;
  file = cfg.files->find(std::string_view(path, size_t(len)));
  return file ? 200 : 404;
}

int format_http_head(char* out, size_t cap, const ServerConfig& cfg, int status, bool head,
                     bool keep, const FileIndex::File* file) {
  uint64_t length;
  std::string_view type;
  const char* error_body = nullptr;
  if (status == 200) {
    length = file ? file->size : cfg.http_size;
    type = file ? file->content_type : std::string_view("text/plain; charset=utf-8");
  } else {
    error_body = reason_phrase(status);
    length = std::strlen(error_body) + 1;
    type = "text/plain; charset=utf-8";
  }
  int n = std::snprintf(out, cap,
                        "HTTP/1.1 %d %s\r\nServer: touchstone\r\nContent-Length: %llu\r\n"
                        "Content-Type: %.*s\r\n%s\r\n",
                        status, reason_phrase(status), (unsigned long long)length,
                        int(type.size()), type.data(), keep ? "" : "Connection: close\r\n");
  if (error_body && !head) n += std::snprintf(out + n, cap - size_t(n), "%s\n", error_body);
  return n;
}

OkHeads make_ok_heads(const ServerConfig& cfg, const FileIndex::File* file) {
  char b[512];
  OkHeads o;
  o.keep.assign(b, size_t(format_http_head(b, sizeof b, cfg, 200, false, true, file)));
  o.close.assign(b, size_t(format_http_head(b, sizeof b, cfg, 200, false, false, file)));
  return o;
}

std::string_view http_head(char* buf, const ServerConfig& cfg, const OkHeads& generated,
                           int status, bool head, bool keep, const FileIndex::File* file) {
  if (status == 200) return (file ? file->heads : generated).get(keep);
  return {buf, size_t(format_http_head(buf, 512, cfg, status, head, keep, file))};
}

void ServerStats::merge(const ServerStats& o) {
  accepted += o.accepted;
  closed += o.closed;
  aborted += o.aborted;
  requests += o.requests;
  http_2xx += o.http_2xx;
  http_4xx += o.http_4xx;
  http_5xx += o.http_5xx;
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
}

// ------------------------------------------------------------------ files

std::string FileIndex::load(const std::string& root, size_t max_files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return "--http-root " + root + " is not a directory";
  auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) return "cannot read " + root + ": " + ec.message();
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return "cannot read below " + root + ": " + ec.message();
    // Symbolic links are not followed: nothing outside the root is served.
    const fs::file_status st = it->symlink_status(ec);
    if (ec || !fs::is_regular_file(st)) continue;
    if (files_.size() >= max_files)
      return root + " holds more than " + std::to_string(max_files) + " files";
    const std::string path = it->path().string();
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // unreadable: it will be a 404
    struct stat sb {};
    File f;
    if (::fstat(fd, &sb) == 0 && sb.st_size > 0) {
      void* m = ::mmap(nullptr, size_t(sb.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (m == MAP_FAILED) {
        ::close(fd);
        continue;
      }
      maps_.push_back({m, size_t(sb.st_size)});
      f.data = static_cast<const uint8_t*>(m);
      f.size = uint64_t(sb.st_size);
    }
    ::close(fd);
    const std::string rel = "/" + fs::relative(it->path(), root, ec).generic_string();
    f.content_type = content_type_for(rel);
    f.heads = make_ok_heads(ServerConfig{}, &f);
    bytes_ += f.size;
    files_.emplace(rel, f);
  }
  return {};
}

FileIndex::~FileIndex() {
  for (const Mapping& m : maps_) ::munmap(m.addr, m.len);
}

const FileIndex::File* FileIndex::find(std::string_view path) const {
  std::string key(path);
  if (key.empty() || key.back() != '/') {
    if (auto it = files_.find(key); it != files_.end()) return &it->second;
    key += '/';
  }
  key += "index.html";
  if (auto it = files_.find(key); it != files_.end()) return &it->second;
  return nullptr;
}

// ------------------------------------------------------------------ server

Server::Server(stack::TcpLayer& tcp, const ServerConfig& cfg)
    : tcp_(tcp), cfg_(cfg), conns_(tcp.capacity()), pattern_(kPatternSize * kPatternCopies),
      scratch_(kMaxHeaderBlock), resp_(kResponseBuffer), generated_heads_(make_ok_heads(cfg, nullptr)) {
  fill_body_pattern(pattern_.data(), kPatternSize);
  for (size_t k = 1; k < kPatternCopies; ++k)
    std::memcpy(pattern_.data() + k * kPatternSize, pattern_.data(), kPatternSize);
}

Server::~Server() { tcp_.unlisten(cfg_.port); }

bool Server::start() { return tcp_.listen(cfg_.port, this, cfg_.backlog); }

tcp::Events* Server::on_accept(const tcp::FourTuple&) { return this; }

void Server::on_connected(tcp::Connection& c) {
  conns_[c.tag()] = ConnState{};
  ++stats_.accepted;
  serve(c);  // data may have come with the handshake's last ACK
}

void Server::on_peer_closed(tcp::Connection& c) {
  ConnState& s = conns_[c.tag()];
  s.peer_closed = true;
  serve(c);
}

void Server::on_closed(tcp::Connection& c, tcp::CloseReason r) {
  ++stats_.closed;
  if (r != tcp::CloseReason::normal) ++stats_.aborted;
  conns_[c.tag()] = ConnState{};
}

size_t Server::send(tcp::Connection& c, const uint8_t* p, size_t n) {
  const size_t sent = c.send({p, n}, tcp_.now());
  stats_.bytes_out += sent;
  return sent;
}

void Server::serve(tcp::Connection& c) {
  ConnState& s = conns_[c.tag()];
  if (s.closing) {
    // Whatever still arrives is discarded by the connection after close().
    return;
  }
  switch (cfg_.app) {
    case ServerApp::echo: serve_echo(c, s); break;
    case ServerApp::discard: {
      const size_t n = c.readable_size();
      stats_.bytes_in += n;
      c.consume(n, tcp_.now());
      break;
    }
    case ServerApp::source: serve_source(c, s); break;
    case ServerApp::rr: serve_rr(c, s); break;
    case ServerApp::http:
    case ServerApp::stateless_http: serve_http(c, s); break;  // its fallback connections
    case ServerApp::dns: c.abort(); break;  // a StatelessServer serves its own
  }
  finish_if_done(c, s);
}

void Server::finish_if_done(tcp::Connection& c, ConnState& s) {
  if (s.closing) return;
  if (cfg_.app == ServerApp::source && s.peer_closed) s.body = Body{};  // stop sending
  const bool idle = s.body.size == 0 && s.owed == 0;
  const bool drained = c.readable_size() == 0 || cfg_.app == ServerApp::rr;
  if ((s.peer_closed && idle && drained) || (s.close_after && idle)) {
    s.closing = true;
    c.close(tcp_.now());  // FIN after everything queued
  }
}

void Server::serve_echo(tcp::Connection& c, ConnState& s) {
  // Echo what fits; the rest stays unread, so the window closes on a client
  // that sends faster than it reads.
  const tcp::Bytes2 r = c.readable();
  // Nothing to echo: the connection became writable (rr: the ACK of every
  // response, on the next request), which echo has no use for.
  if (r.a.empty()) return;
  size_t done = send(c, r.a.data(), r.a.size());
  if (done == r.a.size() && !r.b.empty()) done += send(c, r.b.data(), r.b.size());
  stats_.bytes_in += done;
  if (done) c.consume(done, tcp_.now());
  // Echo has no framing: a request is every req_size bytes echoed (gen's
  // request size in demo, --req-size for serve).
  s.rx_partial += done;
  const uint64_t req = std::max<uint32_t>(cfg_.req_size, 1);
  stats_.requests += s.rx_partial / req;
  s.rx_partial %= req;
}

void Server::serve_source(tcp::Connection& c, ConnState& s) {
  const size_t n = c.readable_size();
  stats_.bytes_in += n;
  if (n) c.consume(n, tcp_.now());
  if (s.peer_closed) return;  // the client is done: finish_if_done closes
  // An endless generated body, queued by reference as the window allows.
  if (!s.body.size) s.body = Body{nullptr, UINT64_MAX, 0, true};
  pump_body(c, s);
}

bool Server::pump_body(tcp::Connection& c, ConnState& s) {
  // Bodies are queued by reference: segments are built straight from the
  // mapped file or the shared pattern, never copied per connection (small
  // remainders are copied by the send buffer itself).
  Body& b = s.body;
  while (b.size) {
    const uint8_t* p;
    size_t n;
    if (b.generated) {
      // b.data is where the last piece ended: continuing there extends the
      // same reference; near the end of the stored copies, start again in
      // the first one (at the same pattern offset).
      const uint8_t* end = pattern_.data() + pattern_.size();
      if (!b.data || uint64_t(end - b.data) < std::min<uint64_t>(b.size, tcp::SendBuffer::kMinRef))
        b.data = pattern_.data() + b.offset % kPatternSize;
      p = b.data;
      n = size_t(std::min<uint64_t>(b.size, uint64_t(end - p)));
    } else {
      p = b.data + b.offset;
      n = size_t(std::min<uint64_t>(b.size, 1u << 30));
    }
    const size_t sent = c.send_ref({p, n}, tcp_.now());
    stats_.bytes_out += sent;
    if (b.generated) b.data += sent;
    b.offset += sent;
    b.size -= sent;
    if (sent < n) return false;
  }
  return true;
}

void Server::serve_rr(tcp::Connection& c, ConnState& s) {
  const size_t n = c.readable_size();
  if (n) {
    stats_.bytes_in += n;
    c.consume(n, tcp_.now());
    s.rx_partial += n;
    const uint64_t req = std::max<uint32_t>(cfg_.req_size, 1);
    s.owed += s.rx_partial / req;
    s.rx_partial %= req;
  }
  while (pump_body(c, s) && s.owed) {
    --s.owed;
    ++stats_.requests;
    s.body = Body{nullptr, cfg_.resp_size, 0, true};
  }
}

bool Server::respond(tcp::Connection& c, ConnState& s, int status, bool head, bool keep,
                     const FileIndex::File* file) {
  char hdr[512];
  const std::string_view h = http_head(hdr, cfg_, generated_heads_, status, head, keep, file);
  if (c.send_space() < h.size()) return false;
  // The header and the start of the body go out in one send: as two small
  // writes, Nagle would hold the second until the client's delayed ACK.
  size_t out = h.size();
  std::memcpy(resp_.data(), h.data(), out);
  if (status == 200 && !head) {
    s.body = file ? Body{file->data, file->size, 0, false} : Body{nullptr, cfg_.http_size, 0, true};
    const size_t room = std::min(resp_.size() - out, c.send_space() - out);
    const size_t first = size_t(std::min<uint64_t>(room, s.body.size));
    if (s.body.generated) {
      std::memcpy(resp_.data() + out, pattern_.data(), first);  // first < 16 KiB
    } else if (first) {
      std::memcpy(resp_.data() + out, s.body.data, first);
    }
    out += first;
    s.body.offset = first;
    s.body.size -= first;
  }
  if (send(c, resp_.data(), out) != out) {
    // Out of buffer memory (the stack counts the refusal): a response cut
    // short would corrupt the stream, so the connection is reset instead.
    s.body = Body{};
    c.abort();
    return false;
  }
  ++stats_.requests;
  if (status < 300)
    ++stats_.http_2xx;
  else if (status < 500)
    ++stats_.http_4xx;
  else
    ++stats_.http_5xx;
  if (!keep) s.close_after = true;
  return true;
}

void Server::serve_http(tcp::Connection& c, ConnState& s) {
  for (;;) {
    if (!pump_body(c, s) || s.close_after) return;
    if (s.skip) {  // a request body we do not use
      const size_t n = size_t(std::min<uint64_t>(s.skip, c.readable_size()));
      stats_.bytes_in += n;
      c.consume(n, tcp_.now());
      s.skip -= n;
      if (s.skip) return;
    }
    if (s.after_body.status) {  // a POST, answered once its body is read
      const Pending p = s.after_body;
      if (!respond(c, s, p.status, false, p.keep, p.file)) return;  // wait for space
      s.after_body = Pending{};
      continue;
    }
    const tcp::Bytes2 r = c.readable();
    if (r.size() == 0) return;
    const std::string_view view = header_view(r.a, r.b, scratch_.data());
    HttpRequest req;
    const HeadScan head = scan_request(view, req);
    if (head.end == 0) {
      if (view.size() >= kMaxHeaderBlock || s.peer_closed) {
        if (respond(c, s, 400, false, false, nullptr)) c.consume(r.size(), tcp_.now());
      }
      return;
    }
    const size_t end = head.end;
    int status;
    const FileIndex::File* file = nullptr;
    if (!head.ok)
      status = 400;
    else
      status = route_http(cfg_, req, file);
    if (status == 400) {
      // A 400 always closes: what follows cannot be trusted to be a request.
      if (!respond(c, s, 400, false, false, nullptr)) return;
      c.consume(c.readable_size(), tcp_.now());
      return;
    }
    if (req.method == Method::post && req.content_length) {
      s.after_body = Pending{status, req.keep_alive, file};
    } else if (!respond(c, s, status, req.method == Method::head, req.keep_alive, file)) {
      return;  // wait for space
    }
    stats_.bytes_in += end;
    c.consume(end, tcp_.now());
    s.skip = req.content_length;
  }
}

}  // namespace ts::workload
