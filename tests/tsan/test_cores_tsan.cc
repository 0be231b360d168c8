// The cross-core hand-offs, built with ThreadSanitizer: steered packets over
// a SpscRing between two threads (every item arrives once, in order, and the
// ring is reused many times around), and the Snapshot request/answer that
// carries progress numbers from a polling core to the one printing them.
// TSan fails the run on any data race; the checks fail it on a lost,
// duplicated or torn value.
#include <atomic>
#include <cstdio>
#include <thread>

#include "apps/cores.hh"
#include "stack/device.hh"
#include "util/spsc_ring.hh"

using namespace ts;

namespace {

int failures = 0;
void check(bool ok, const char* what) {
  std::printf("%s - %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

void ring_between_threads() {
  constexpr uint32_t kItems = 2'000'000;
  util::SpscRing<stack::Packet> ring(256);
  uint32_t full = 0;
  std::thread producer([&] {
    for (uint32_t i = 0; i < kItems;) {
      stack::Packet p;
      p.len = i;
      p.room = ~i;
      if (ring.push(p))
        ++i;
      else
        ++full;
    }
  });
  uint32_t next = 0, bad = 0;
  stack::Packet got[32];
  while (next < kItems) {
    const size_t n = ring.pop(got, 32);
    for (size_t k = 0; k < n; ++k, ++next)
      if (got[k].len != next || got[k].room != ~next) ++bad;
  }
  producer.join();
  check(bad == 0 && next == kItems, "2M packets through a 256-slot ring, each once and in order");
  check(full > 0, "the producer found the ring full and retried (the consumer was slower)");
}

struct Totals {
  uint64_t a = 0, b = 0;  // always equal when copied whole
};

void snapshot_between_threads() {
  app::Snapshot<Totals> snap;
  std::atomic<bool> stop{false};
  std::thread owner([&] {
    Totals mine;
    while (!stop.load(std::memory_order_relaxed)) {
      ++mine.a;
      ++mine.b;
      snap.serve([&](Totals& t) { t = mine; });
    }
  });
  int answers = 0, torn = 0;
  uint64_t last = 0;
  bool rising = true;
  while (answers < 20000) {
    snap.ask();
    while (!snap.ready()) {
    }
    const Totals t = snap.value();
    torn += t.a != t.b;
    rising = rising && t.a >= last;
    last = t.a;
    ++answers;
  }
  stop.store(true);
  owner.join();
  check(torn == 0 && rising, "20000 snapshots asked and answered, none torn, never going back");
}

}  // namespace

int main() {
  ring_between_threads();
  snapshot_between_threads();
  return failures ? 1 : 0;
}
