#include "apps/hdr_log.hh"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <stdexcept>

namespace ts::app {

namespace {

// The V2 encoding's cookies: plain, and compressed (the low nibble 0x10 says
// the counts are ZigZag LEB128 words with zero runs).
constexpr uint32_t kCookieV2 = 0x1c849313;
constexpr uint32_t kCookieV2Compressed = 0x1c849314;

void put32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(char((v >> s) & 0xff));
}
void put64(std::string& out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(char((v >> s) & 0xff));
}

// ZigZag, then LEB128 of at most 9 bytes: eight of 7 bits, the ninth of 8.
void put_zigzag(std::string& out, int64_t value) {
  uint64_t v = (uint64_t(value) << 1) ^ uint64_t(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if (v < 0x80) {
      out.push_back(char(v));
      return;
    }
    out.push_back(char((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}

// The uncompressed V2 encoding: header, then the counts up to the highest
// non-empty bucket, each run of more than one empty bucket as its negated
// length.
std::string encode_v2(const util::Histogram& h) {
  const unsigned top = util::Histogram::index_of(kHdrHighestNs);
  std::vector<uint64_t> counts(top + 1, 0);
  unsigned limit = 0;
  h.for_each_bucket([&](unsigned i, uint64_t n) {
    counts[std::min(i, top)] += n;
    limit = std::min(i, top) + 1;
  });
  std::string payload;
  for (unsigned i = 0; i < limit;) {
    if (counts[i]) {
      put_zigzag(payload, int64_t(counts[i++]));
      continue;
    }
    unsigned zeros = 0;
    while (i < limit && !counts[i]) ++zeros, ++i;
    put_zigzag(payload, zeros > 1 ? -int64_t(zeros) : 0);
  }
  std::string out;
  put32(out, kCookieV2);
  put32(out, uint32_t(payload.size()));
  put32(out, 0);  // normalizing index offset
  put32(out, 2);  // significant value digits
  put64(out, 1);  // lowest discernible value
  put64(out, kHdrHighestNs);
  put64(out, 0x3ff0000000000000ull);  // integer-to-double ratio 1.0
  return out + payload;
}

std::string base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) n |= uint32_t(uint8_t(in[i + 1])) << 8;
    if (i + 2 < in.size()) n |= uint8_t(in[i + 2]);
    out.push_back(k[(n >> 18) & 63]);
    out.push_back(k[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? k[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? k[n & 63] : '=');
  }
  return out;
}

}  // namespace

std::string hdr_compressed_base64(const util::Histogram& h) {
  const std::string raw = encode_v2(h);
  uLongf len = compressBound(uLong(raw.size()));
  std::string z(len, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &len,
                reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK)
    throw std::runtime_error("zlib could not compress a histogram");
  z.resize(len);
  std::string out;
  put32(out, kCookieV2Compressed);
  put32(out, uint32_t(z.size()));
  return base64(out + z);
}

void write_hdr_log(const std::string& path, double base_unix_s,
                   const std::vector<HdrInterval>& intervals, const std::string& comment) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("--hdr-log: cannot write " + path);
  char date[64] = "";
  const std::time_t t = std::time_t(base_unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &tm);
  char line[256];
  out << "#[" << comment << "]\n";
  out << "#[Histogram log format version 1.3]\n";
  std::snprintf(line, sizeof line, "#[StartTime: %.3f (seconds since epoch), %s]\n", base_unix_s,
                date);
  out << line;
  std::snprintf(line, sizeof line, "#[BaseTime: %.3f (seconds since epoch)]\n", base_unix_s);
  out << line;
  out << "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
  for (const HdrInterval& iv : intervals) {
    // The maximum in milliseconds: HdrHistogram's default unit ratio (1e6)
    // for values in nanoseconds.
    std::snprintf(line, sizeof line, "%.3f,%.3f,%.3f,", iv.start_s, iv.length_s,
                  double(iv.histogram->max()) / 1e6);
    if (!iv.tag.empty()) out << "Tag=" << iv.tag << ",";
    out << line << hdr_compressed_base64(*iv.histogram) << "\n";
  }
  out.close();
  if (!out) throw std::runtime_error("--hdr-log: cannot write " + path);
}

}  // namespace ts::app
