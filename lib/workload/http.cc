#include "workload/http.hh"

#include <algorithm>
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

// Splits off the next line (without its CRLF or bare LF).
std::string_view next_line(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

struct HeaderFacts {
  bool close = false, keep_alive = false, chunked = false, has_length = false;
  uint64_t length = 0;
};

// Reads the header lines after the start line; false when one is malformed.
bool read_headers(std::string_view rest, HeaderFacts& f) {
  while (!rest.empty()) {
    const std::string_view line = next_line(rest);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    const std::string_view name = line.substr(0, colon);
    if (name.back() == ' ' || name.back() == '\t' || name.front() == ' ') return false;
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "connection")) {
      if (has_token(value, "close")) f.close = true;
      if (has_token(value, "keep-alive")) f.keep_alive = true;
    } else if (iequals(name, "content-length")) {
      uint64_t n;
      if (!parse_u64(value, n) || (f.has_length && n != f.length)) return false;
      f.has_length = true;
      f.length = n;
    } else if (iequals(name, "transfer-encoding")) {
      if (has_token(value, "chunked")) f.chunked = true;
    }
  }
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

size_t find_header_end(std::string_view data) {
  // A bare LF is tolerated as a line end (RFC 9112 2.2).
  for (size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
    if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  return 0;
}

bool parse_request(std::string_view block, HttpRequest& out) {
  std::string_view rest = block;
  // RFC 9112 2.2: ignore at least one empty line before the request line.
  while (rest.starts_with("\r\n")) rest.remove_prefix(2);
  const std::string_view line = next_line(rest);
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return false;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return false;
  const std::string_view method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const int minor = http_minor(line.substr(sp2 + 1));
  if (minor < 0) return false;
  for (char c : method)
    if (c < 'A' || c > 'Z') return false;
  out.method = method == "GET"    ? Method::get
               : method == "HEAD" ? Method::head
               : method == "POST" ? Method::post
                                  : Method::other;
  out.minor = minor;
  HeaderFacts f;
  if (!read_headers(rest, f)) return false;
  out.keep_alive = minor >= 1 ? !f.close : (f.keep_alive && !f.close);
  out.content_length = f.length;
  out.has_body = f.chunked || f.length > 0;
  return true;
}

bool parse_response(std::string_view block, HttpResponse& out) {
  std::string_view rest = block;
  const std::string_view line = next_line(rest);
  if (line.size() < 12 || line[8] != ' ') return false;
  const int minor = http_minor(line.substr(0, 8));
  if (minor < 0) return false;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    status = status * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ') return false;
  HeaderFacts f;
  if (!read_headers(rest, f)) return false;
  out.status = status;
  out.minor = minor;
  out.keep_alive = minor >= 1 ? !f.close : (f.keep_alive && !f.close);
  out.has_length = f.has_length;
  out.content_length = f.length;
  out.chunked = f.chunked;
  return true;
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
