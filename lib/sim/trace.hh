// A simulation's trace: every frame offered to every link, written as a pcap
// file (nanosecond timestamps of virtual time, readable by tshark and
// Wireshark) and as text, one line per frame with what the link did to it
// (sent, lost, dropped at the queue, corrupted, duplicated, reordered) and the
// TCP header in brief. A failing simulation test writes one beside the
// command that replays the run; `touchstone sim --trace PREFIX` writes one
// for any run.
#pragma once

#include <cstdio>
#include <string>

#include "sim/sim.hh"

namespace ts::sim {

class TraceWriter final : public LinkTrace {
 public:
  // Writes PREFIX.pcap and PREFIX.txt; ok() says whether both could be opened.
  explicit TraceWriter(const std::string& prefix);
  ~TraceWriter() override;
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  bool ok() const { return pcap_ && text_; }
  uint64_t frames() const { return frames_; }

  void on_link(const std::string& link, LinkEvent e, uint64_t at,
               std::span<const uint8_t> frame) override;

 private:
  std::FILE* pcap_ = nullptr;
  std::FILE* text_ = nullptr;
  uint64_t frames_ = 0;
};

// One line about a frame: "10.0.0.1:5001 > 10.0.0.2:40000 [S.] seq 1 ack 2 win 65535 len 0".
std::string describe_frame(std::span<const uint8_t> frame);

}  // namespace ts::sim
