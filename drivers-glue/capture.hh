// --pcap: every frame a port's queues receive and transmit, written to a
// capture file by a thread of its own (docs/json.md, "Captures"). Each polling
// core copies a frame's first snaplen bytes into a slot of its own ring (no
// lock, no allocation); the writer thread empties the rings into the file with
// libpcap's dumper (pcap, nanosecond timestamps; tshark and Wireshark read it).
// When a core finds no free slot the frame is not captured and the core's
// pcap_dropped counter says so: the capture never stalls the port.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/spsc_ring.hh"

typedef struct pcap pcap_t;
typedef struct pcap_dumper pcap_dumper_t;

namespace ts::glue {

struct CaptureConfig {
  std::string path;
  uint32_t snaplen = 65535;  // bytes kept of each frame
  uint64_t count = 0;        // stop after this many frames (0: no limit)
};

// One core's side: frames in, slots out. Used by that core only.
class CaptureQueue {
 public:
  CaptureQueue(uint32_t slot_bytes, uint32_t slots);
  enum Result { taken, dropped, complete };
  // dropped when no slot was free; complete once --pcap-count frames were
  // written (the frame is left out, and that is no drop).
  Result add(const uint8_t* data, uint32_t len, uint64_t now_ns) {
    if (complete_->load(std::memory_order_relaxed)) return complete;
    uint32_t slot;
    if (free_.pop(&slot, 1) != 1) return dropped;
    Slot* s = slot_at(slot);
    s->ts_ns = now_ns;
    s->len = len;
    s->caplen = len < slot_bytes_ ? len : slot_bytes_;
    __builtin_memcpy(s->data(), data, s->caplen);
    filled_.push(slot);  // never full: a slot is in exactly one of the rings
    return taken;
  }

 private:
  friend class Capture;
  struct Slot {
    uint64_t ts_ns;
    uint32_t len, caplen;
    uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  };
  Slot* slot_at(uint32_t i) { return reinterpret_cast<Slot*>(mem_.get() + size_t(i) * stride_); }

  uint32_t slot_bytes_;
  size_t stride_;
  std::unique_ptr<uint8_t[]> mem_;
  util::SpscRing<uint32_t> free_;    // writer -> core
  util::SpscRing<uint32_t> filled_;  // core -> writer
  const std::atomic<bool>* complete_ = nullptr;
};

class Capture {
 public:
  // Opens the file (throws std::runtime_error naming it when it cannot) and
  // starts the writer. `queues`: one per polling core; `max_frame`: the
  // largest frame the port carries; `now_ns` and `wall_ns` give the same
  // instant on the cores' clock and on the wall clock.
  Capture(const CaptureConfig& cfg, size_t queues, uint32_t max_frame, uint64_t now_ns,
          uint64_t wall_ns);
  // Stops the writer, writes what the rings still hold, closes the file
  // (the cores must no longer add to the queues). Done once; the destructor
  // does it too.
  void close();
  ~Capture() { close(); }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  CaptureQueue* queue(size_t i) { return queues_[i].get(); }
  uint64_t written() const { return written_.load(); }
  // Whether writing the file failed (a full disk): the capture is incomplete.
  bool failed() const { return failed_.load(); }
  const std::string& path() const { return cfg_.path; }

 private:
  void run();
  size_t drain();  // frames written

  CaptureConfig cfg_;
  int64_t wall_minus_now_;
  pcap_t* pcap_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
  std::vector<std::unique_ptr<CaptureQueue>> queues_;
  std::atomic<bool> complete_{false};
  std::atomic<uint64_t> written_{0};
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace ts::glue
