#include "workload/http.hh"

#include <algorithm>
#include <bit>
#include <cstring>

namespace ts::workload {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x + 32);
    if (y >= 'A' && y <= 'Z') y = char(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  s = trim(s);
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + uint64_t(c - '0');
  }
  out = v;
  return true;
}

// "HTTP/1.x" -> x, or -1.
int http_minor(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1." || v[7] < '0' || v[7] > '9') return -1;
  return v[7] - '0';
}

// The line that starts at `at`: its text without the CR LF (or bare LF)
// that ends it in `line`, and where the next line starts; npos while no LF
// ends it yet. One memchr a line: the block is walked once.
[[gnu::always_inline]] inline size_t take_line(std::string_view data, size_t at, std::string_view& line) {
  if (at >= data.size()) return std::string_view::npos;
  const char* p = data.data() + at;
  const void* lf = std::memchr(p, '\n', data.size() - at);
  if (!lf) return std::string_view::npos;
  size_t len = size_t(static_cast<const char*>(lf) - p);
  const size_t next = at + len + 1;
  if (len && p[len - 1] == '\r') --len;
  line = std::string_view(p, len);
  return next;
}

// A header name (lowercase letters and '-', 8 to 24 bytes) compared with
// another regardless of case, eight bytes at a time: each word of the other
// name is ORed with 0x20 where this name has a letter, so that a letter
// matches its two cases only and a '-' only itself.
class HeaderName {
 public:
  template <size_t N>
  consteval HeaderName(const char (&s)[N]) : len_(N - 1), words_(int((N - 1 + 7) / 8)) {
    static_assert(N - 1 >= 8 && N - 1 <= 24, "a word-wise name is 8 to 24 bytes");
    for (int k = 0; k < words_; ++k) {
      // Whole words from the start, the last one ending with the name.
      const size_t off = std::min(size_t(k) * 8, len_ - 8);
      off_[k] = off;
      want_[k] = fold_[k] = 0;
      for (size_t i = 0; i < 8; ++i) {
        const unsigned c = static_cast<unsigned char>(s[off + i]);
        const unsigned shift =
            std::endian::native == std::endian::little ? unsigned(8 * i) : unsigned(8 * (7 - i));
        want_[k] |= uint64_t(c) << shift;
        if (c >= 'a' && c <= 'z') fold_[k] |= uint64_t(0x20) << shift;
      }
    }
  }
  constexpr size_t size() const { return len_; }
  bool is(std::string_view name) const {
    if (name.size() != len_) return false;
    for (int k = 0; k < words_; ++k) {
      uint64_t w;
      std::memcpy(&w, name.data() + off_[k], 8);
      if ((w | fold_[k]) != want_[k]) return false;
    }
    return true;
  }

 private:
  size_t len_;
  int words_;
  size_t off_[3] = {};
  uint64_t want_[3] = {}, fold_[3] = {};
};

constexpr HeaderName kConnection("connection");
constexpr HeaderName kContentLength("content-length");
constexpr HeaderName kTransferEncoding("transfer-encoding");

struct HeaderFacts {
  bool close = false, keep_alive = false, chunked = false, has_length = false;
  uint64_t length = 0;
  // HTTP/1.1 keeps the connection unless told to close; 1.0 closes unless
  // told to keep it.
  bool keeps(int minor) const { return minor >= 1 ? !close : (keep_alive && !close); }
};

// One header line (not empty); false when it is malformed: no colon, an
// empty name, or whitespace around the name. Only three names matter, and
// their lengths tell them apart before any byte is compared.
bool read_header(std::string_view line, HeaderFacts& f) {
  const void* colon_at = std::memchr(line.data(), ':', line.size());
  if (!colon_at) return false;
  const size_t colon = size_t(static_cast<const char*>(colon_at) - line.data());
  if (colon == 0) return false;
  const char last = line[colon - 1];
  if (last == ' ' || last == '\t' || line[0] == ' ') return false;
  const std::string_view name = line.substr(0, colon);
  switch (colon) {
    case kConnection.size():
      if (kConnection.is(name)) {
        const std::string_view value = trim(line.substr(colon + 1));
        if (has_token(value, "close")) f.close = true;
        if (has_token(value, "keep-alive")) f.keep_alive = true;
      }
      break;
    case kContentLength.size():
      if (kContentLength.is(name)) {
        uint64_t n;
        if (!parse_u64(line.substr(colon + 1), n) || (f.has_length && n != f.length)) return false;
        f.has_length = true;
        f.length = n;
      }
      break;
    case kTransferEncoding.size():
      if (kTransferEncoding.is(name) && has_token(trim(line.substr(colon + 1)), "chunked"))
        f.chunked = true;
      break;
    default:
      break;
  }
  return true;
}

// The header block at the start of `data` found and read in one pass: the
// start line (after empty lines, for a request: RFC 9112 2.2), then header
// lines up to the empty line that ends the block. A malformed line makes
// the block bad, but its end is still looked for, so that a caller waits
// for the whole block as it would for a good one.
template <class StartLine>
HeadScan scan_block(std::string_view data, bool skip_empty, HeaderFacts& f, StartLine start) {
  std::string_view line;
  size_t next = take_line(data, 0, line);
  if (skip_empty)
    while (next != std::string_view::npos && line.empty()) next = take_line(data, next, line);
  if (next == std::string_view::npos) return {};
  bool ok = start(line);
  for (;;) {
    next = take_line(data, next, line);
    if (next == std::string_view::npos) return {};
    if (line.empty()) return {next, ok};
    if (ok) ok = read_header(line, f);
  }
}

bool request_line(std::string_view line, HttpRequest& out) {
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return false;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
  const std::string_view method = line.substr(0, sp1);
  const int minor = http_minor(line.substr(sp2 + 1));
  if (minor < 0) return false;
  for (char c : method)
    if (c < 'A' || c > 'Z') return false;
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  out.method = method == "GET"    ? Method::get
               : method == "HEAD" ? Method::head
               : method == "POST" ? Method::post
                                  : Method::other;
  out.minor = minor;
  return true;
}

bool status_line(std::string_view line, HttpResponse& out) {
  if (line.size() < 12 || line[8] != ' ') return false;
  const int minor = http_minor(line.substr(0, 8));
  if (minor < 0) return false;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ') return false;
  out.status = status;
  out.minor = minor;
  return true;
}

}  // namespace

std::string_view header_view(std::span<const uint8_t> a, std::span<const uint8_t> b,
                             char* scratch) {
  std::string_view view(reinterpret_cast<const char*>(a.data()), a.size());
  if (a.size() < kMaxHeaderBlock && !b.empty()) {
    const size_t from_b = std::min(b.size(), kMaxHeaderBlock - a.size());
    std::memcpy(scratch, a.data(), a.size());
    std::memcpy(scratch + a.size(), b.data(), from_b);
    view = std::string_view(scratch, a.size() + from_b);
  }
  return view.substr(0, std::min(view.size(), kMaxHeaderBlock));
}

HeadScan scan_request(std::string_view data, HttpRequest& out) {
  HeaderFacts f;
  const HeadScan s =
      scan_block(data, true, f, [&out](std::string_view line) { return request_line(line, out); });
  if (s.end && s.ok) {
    out.keep_alive = f.keeps(out.minor);
    out.content_length = f.length;
    out.has_body = f.chunked || f.length > 0;
  }
  return s;
}

HeadScan scan_response(std::string_view data, HttpResponse& out) {
  HeaderFacts f;
  const HeadScan s =
      scan_block(data, false, f, [&out](std::string_view line) { return status_line(line, out); });
  if (s.end && s.ok) {
    out.keep_alive = f.keeps(out.minor);
    out.has_length = f.has_length;
    out.content_length = f.length;
    out.chunked = f.chunked;
  }
  return s;
}

bool parse_request(std::string_view block, HttpRequest& out) {
  const HeadScan s = scan_request(block, out);
  return s.end && s.ok;
}

bool parse_response(std::string_view block, HttpResponse& out) {
  const HeadScan s = scan_response(block, out);
  return s.end && s.ok;
}

long target_to_path(std::string_view target, char* out, size_t cap) {
  const size_t q = target.find_first_of("?#");
  std::string_view path = target.substr(0, q);
  if (path.empty() || path[0] != '/') return -1;
  size_t n = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      if (i + 2 >= path.size()) return -1;
      const int hi = hex(path[i + 1]), lo = hex(path[i + 2]);
      if (hi < 0 || lo < 0) return -1;
      c = char(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0' || n + 1 >= cap) return -1;
    out[n++] = c;
  }
  out[n] = '\0';
  // No ".." segment, in any position, after decoding.
  const std::string_view p(out, n);
  for (size_t at = 0; at <= p.size();) {
    const size_t slash = p.find('/', at);
    const std::string_view seg = p.substr(at, slash == std::string_view::npos ? p.npos : slash - at);
    if (seg == "..") return -1;
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return long(n);
}

std::string_view content_type_for(std::string_view path) {
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  const std::string_view ext = path.substr(dot + 1);
  struct Entry {
    const char* ext;
    const char* type;
  };
  static constexpr Entry kTypes[] = {
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"txt", "text/plain; charset=utf-8"}, {"css", "text/css"},
      {"js", "text/javascript"},            {"json", "application/json"},
      {"png", "image/png"},                 {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},               {"gif", "image/gif"},
      {"svg", "image/svg+xml"},             {"ico", "image/x-icon"},
      {"pdf", "application/pdf"},           {"xml", "application/xml"},
      {"wasm", "application/wasm"},
  };
  for (const Entry& e : kTypes)
    if (iequals(ext, e.ext)) return e.type;
  return "application/octet-stream";
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 414: return "URI Too Long";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    default: return "Unknown";
  }
}

}  // namespace ts::workload
