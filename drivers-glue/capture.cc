#include "drivers-glue/capture.hh"

#include <pcap/pcap.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace ts::glue {

namespace {
constexpr uint32_t kSlotsPerQueue = 4096;
}

CaptureQueue::CaptureQueue(uint32_t slot_bytes, uint32_t slots)
    : slot_bytes_(slot_bytes),
      stride_((sizeof(Slot) + slot_bytes + 7) / 8 * 8),
      mem_(new uint8_t[stride_ * slots]),
      free_(slots),
      filled_(slots) {
  for (uint32_t i = 0; i < slots; ++i) free_.push(i);
}

Capture::Capture(const CaptureConfig& cfg, size_t queues, uint32_t max_frame, uint64_t now_ns,
                 uint64_t wall_ns)
    : cfg_(cfg), wall_minus_now_(int64_t(wall_ns) - int64_t(now_ns)) {
  pcap_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, int(cfg.snaplen),
                                               PCAP_TSTAMP_PRECISION_NANO);
  if (!pcap_) throw std::runtime_error("--pcap: libpcap could not start a capture");
  dumper_ = pcap_dump_open(pcap_, cfg.path.c_str());
  if (!dumper_) {
    const std::string err = pcap_geterr(pcap_);
    pcap_close(pcap_);
    throw std::runtime_error("--pcap " + cfg.path + ": " + err);
  }
  const uint32_t slot = cfg.snaplen < max_frame ? cfg.snaplen : max_frame;
  for (size_t i = 0; i < queues; ++i) {
    queues_.push_back(std::make_unique<CaptureQueue>(slot, kSlotsPerQueue));
    queues_.back()->complete_ = &complete_;
  }
  thread_ = std::thread([this] { run(); });
}

void Capture::close() {
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  drain();
  if (pcap_dump_flush(dumper_) != 0 || std::ferror(pcap_dump_file(dumper_))) failed_.store(true);
  pcap_dump_close(dumper_);
  pcap_close(pcap_);
}

size_t Capture::drain() {
  size_t n = 0;
  uint32_t batch[256];
  for (auto& q : queues_) {
    for (;;) {
      const size_t got = q->filled_.pop(batch, 256);
      for (size_t i = 0; i < got; ++i) {
        CaptureQueue::Slot* s = q->slot_at(batch[i]);
        if (!complete_.load(std::memory_order_relaxed)) {
          const int64_t wall = int64_t(s->ts_ns) + wall_minus_now_;
          pcap_pkthdr h{};
          h.ts.tv_sec = wall / 1'000'000'000;
          h.ts.tv_usec = wall % 1'000'000'000;  // nanoseconds: the file's precision
          h.caplen = s->caplen;
          h.len = s->len;
          pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, s->data());
          const uint64_t w = written_.fetch_add(1, std::memory_order_relaxed) + 1;
          if (cfg_.count && w >= cfg_.count) complete_.store(true, std::memory_order_relaxed);
          ++n;
        }
        q->free_.push(batch[i]);
      }
      if (got < 256) break;
    }
  }
  return n;
}

void Capture::run() {
  std::unique_lock<std::mutex> lock(mu_);
  auto last_flush = std::chrono::steady_clock::now();
  while (!stop_) {
    lock.unlock();
    const size_t n = drain();
    // A killed process leaves a readable file: flush about every 200 ms.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_flush > std::chrono::milliseconds(200)) {
      if (pcap_dump_flush(dumper_) != 0 || std::ferror(pcap_dump_file(dumper_)))
        failed_.store(true);
      last_flush = now;
    }
    lock.lock();
    if (!n) cv_.wait_for(lock, std::chrono::milliseconds(1), [&] { return stop_; });
  }
}

}  // namespace ts::glue
