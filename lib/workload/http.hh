// Just enough HTTP/1.1 for a load-testing server and client (RFC 9112): the
// request line and the headers a server needs (Connection, Content-Length,
// Transfer-Encoding), the status line and Content-Length of a response.
// Parsers work on one contiguous header block and never allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ts::workload {

// Headers larger than this are refused (431 would be more precise; a load
// tester's clients never send them, so 400).
inline constexpr size_t kMaxHeaderBlock = 8192;

// The first kMaxHeaderBlock bytes of readable data held in two spans (a ring
// that wraps) as one view: in place when the first span is long enough, else
// copied into `scratch` (kMaxHeaderBlock bytes).
std::string_view header_view(std::span<const uint8_t> a, std::span<const uint8_t> b,
                             char* scratch);

// A header block found and read in one pass (scan_request, scan_response):
// `end` is where it ends, just after the empty line (0 while incomplete:
// nothing else is meaningful then); `ok` whether it was well-formed.
struct HeadScan {
  size_t end = 0;
  bool ok = false;
};

// POST is answered like GET once its body is read (a load tester's sink).
enum class Method : uint8_t { get, head, post, other };

struct HttpRequest {
  Method method = Method::other;
  std::string_view target;  // as sent: "/path?query"
  int minor = 1;            // HTTP/1.minor
  bool keep_alive = true;   // after Connection and the version's default
  bool has_body = false;    // Content-Length > 0 or chunked: we do not read bodies
  uint64_t content_length = 0;
};

// The request whose header block starts `data` (which may hold more: a body,
// the next request). Empty lines before the request line are skipped (RFC
// 9112 2.2). Not ok for a malformed request: a bad request line, a version
// other than HTTP/1.x, a header line without a colon, whitespace before a
// colon, or a Content-Length that is not a number or differs from another.
HeadScan scan_request(std::string_view data, HttpRequest& out);
// The same for a block that must be complete: false when malformed or when
// no empty line ends it (what follows that line is not looked at).
bool parse_request(std::string_view block, HttpRequest& out);

struct HttpResponse {
  int status = 0;
  int minor = 1;
  bool keep_alive = true;
  bool has_length = false;
  uint64_t content_length = 0;
  bool chunked = false;
};
// As scan_request and parse_request, for a response (no empty lines skipped).
HeadScan scan_response(std::string_view data, HttpResponse& out);
bool parse_response(std::string_view block, HttpResponse& out);

// The file-system path a request target names below the root: the path part
// only, percent-decoded into `out` (a buffer of `cap` bytes). Returns the
// length, or -1 when the target is not an absolute path, decodes to a NUL or
// contains a ".." segment, or does not fit.
long target_to_path(std::string_view target, char* out, size_t cap);

// A Content-Type for a file name's extension (application/octet-stream when
// unknown).
std::string_view content_type_for(std::string_view path);

const char* reason_phrase(int status);

}  // namespace ts::workload
