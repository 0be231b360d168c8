// Latency histograms in HdrHistogram's formats (docs/json.md, "HdrHistogram
// interval log"). util::Histogram's buckets are those of an HdrHistogram with
// 2 significant digits and a lowest value of 1, so the export is bucket for
// bucket: HdrHistogram's tools (HistogramLogProcessor, the plotters) read the
// same counts touchstone's JSON carries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/histogram.hh"

namespace ts::app {

// The largest value the exported histograms track: an hour in nanoseconds.
// Larger values (no latency reaches it: every request has a timeout) are
// counted in the top bucket.
inline constexpr uint64_t kHdrHighestNs = 3'600'000'000'000ull;

// HdrHistogram's compressed V2 encoding of `h`, in base64 (what an interval
// log line carries).
std::string hdr_compressed_base64(const util::Histogram& h);

struct HdrInterval {
  double start_s = 0;   // since the log's base time
  double length_s = 0;
  const util::Histogram* histogram = nullptr;
  std::string tag;  // empty: none (else the line starts "Tag=...,")
};

// Writes an HdrHistogram interval log (format version 1.3): a header with the
// start time `base_unix_s` (also the base the intervals count from) and one
// line per interval, values in nanoseconds. Throws std::runtime_error when the
// file cannot be written.
void write_hdr_log(const std::string& path, double base_unix_s,
                   const std::vector<HdrInterval>& intervals, const std::string& comment);

}  // namespace ts::app
