// HTTP/1.1 header blocks (lib/workload/http.cc): scanning is bounded by the
// input; the end it finds is the first empty line, as a plain byte-by-byte
// search finds it; a block cut at that end scans the same; what it reads
// points into the input.
#include <string>
#include <string_view>

#include "fuzz_common.hh"
#include "workload/http.hh"

namespace {

// The end of the first empty line that is not the block's first line: just
// after an LF followed by LF or CR LF (0 when none), by the plainest means.
size_t plain_end(std::string_view d) {
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i] != '\n') continue;
    if (i + 1 < d.size() && d[i + 1] == '\n') return i + 2;
    if (i + 2 < d.size() && d[i + 1] == '\r' && d[i + 2] == '\n') return i + 3;
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ts::workload;
  // A copy of exactly `size` bytes, so that a read past it is ASan's to see.
  const std::string copy(reinterpret_cast<const char*>(data), size);
  const std::string_view d(copy);

  HttpResponse resp;
  const HeadScan r = scan_response(d, resp);
  TS_FUZZ_ASSERT(r.end == plain_end(d));
  if (r.end) {
    HttpResponse again;
    const HeadScan r2 = scan_response(d.substr(0, r.end), again);
    TS_FUZZ_ASSERT(r2.end == r.end && r2.ok == r.ok);
    TS_FUZZ_ASSERT(parse_response(d.substr(0, r.end), again) == r.ok);
    if (r.ok) TS_FUZZ_ASSERT(resp.status >= 0 && resp.status <= 999);
  }

  // A request: empty lines (CR LF or LF) before it are skipped first.
  size_t skip = 0;
  for (;;) {
    if (d.substr(skip, 2) == "\r\n")
      skip += 2;
    else if (d.substr(skip, 1) == "\n")
      skip += 1;
    else
      break;
  }
  HttpRequest req;
  const HeadScan q = scan_request(d, req);
  const size_t rest = plain_end(d.substr(skip));
  TS_FUZZ_ASSERT(q.end == (rest ? skip + rest : 0));
  if (q.end && q.ok) {
    TS_FUZZ_ASSERT(req.target.data() >= d.data() + skip &&
                   req.target.data() + req.target.size() <= d.data() + q.end);
    TS_FUZZ_ASSERT(!req.target.empty() && req.minor >= 0 && req.minor <= 9);
    TS_FUZZ_ASSERT(req.content_length == 0 || req.has_body);
    HttpRequest again;
    TS_FUZZ_ASSERT(parse_request(d.substr(0, q.end), again));
    TS_FUZZ_ASSERT(again.target == req.target && again.keep_alive == req.keep_alive &&
                   again.content_length == req.content_length);
  }
  return 0;
}
