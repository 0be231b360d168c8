// A deterministic network simulator that runs the real stack (lib/stack over
// lib/tcp) over simulated links, in virtual time. Everything random draws from
// generators seeded by the network's seed, and events at equal times run in the
// order they were scheduled, so one seed always replays one run exactly.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "stack/mem_device.hh"
#include "stack/stack.hh"
#include "util/rng.hh"

namespace ts::sim {

using stack::Packet;

// ------------------------------------------------------------------ time

class Node;

class Simulator {
 public:
  explicit Simulator(uint64_t seed) : rng_(seed) {}
  uint64_t now() const { return now_; }
  util::Rng& rng() { return rng_; }

  void deliver_at(uint64_t t, Node* to, uint32_t port, const Packet& p);
  void wake_at(uint64_t t, Node* node);
  void call_at(uint64_t t, std::function<void()> fn);

  // Runs the next event; false when there is none.
  bool step();
  // Runs every event up to and including time t, then sets the clock to t.
  void run_until(uint64_t t);
  // Runs until done() or the clock passes `limit`; true if done() held.
  bool run_until_done(const std::function<bool()>& done, uint64_t limit);
  uint64_t events_run() const { return events_; }

 private:
  enum class Kind : uint8_t { deliver, wake, call };
  struct Event {
    Kind kind;
    Node* node;
    uint32_t port;
    Packet pkt;
    uint32_t call;  // index into calls_
  };
  // The heap orders 16-byte keys (time, then the order of scheduling, with
  // the event's slot in the low bits); the events themselves stay put in a
  // slab (moving 80-byte events through the heap cost a fifth of a run's
  // time). A 4-ary heap: half the levels of a binary one, and the four
  // children of a node share a cache line.
  struct Key {
    uint64_t t;
    uint64_t order;  // seq << kSlotBits | slot
    bool operator<(const Key& o) const { return t != o.t ? t < o.t : order < o.order; }
  };
  static constexpr unsigned kSlotBits = 24;  // up to 16M events pending
  class Heap {
   public:
    bool empty() const { return v_.empty(); }
    const Key& top() const { return v_.front(); }
    void push(Key k);
    void pop();

   private:
    std::vector<Key> v_;
  };
  void push(uint64_t t, const Event& e);

  uint64_t now_ = 0, seq_ = 0, events_ = 0;
  util::Rng rng_;
  Heap q_;
  std::vector<Event> slab_;
  std::vector<uint32_t> free_slots_;
  std::vector<std::function<void()>> calls_;
  std::vector<uint32_t> free_calls_;
};

// ------------------------------------------------------------------ links

struct LossModel {
  double bernoulli = 0;  // each packet lost independently with this probability
  // Gilbert-Elliott bursts: a two-state chain stepped once per packet.
  bool gilbert = false;
  double p_good_bad = 0, p_bad_good = 1, loss_good = 0, loss_bad = 1;
};

// The bottleneck's queue discipline. Drop-tail drops arrivals at a full
// queue; RED (Floyd and Jacobson 1993, "gentle" variant) drops arrivals early
// with a probability that grows with the average queue; CoDel (RFC 8289)
// drops at the head when packets have waited longer than `target` for at
// least `interval`. Every discipline also drops at the queue limit.
enum class Aqm : uint8_t { droptail, red, codel };
const char* aqm_name(Aqm a);

struct RedParams {
  // Thresholds in packets of average queue; 0: derived from the queue limit
  // (min = max(5, limit / 6), max = 3 min, as Floyd recommends).
  double min_th = 0, max_th = 0;
  double max_p = 0.1;
  double weight = 0.002;  // of each arrival in the moving average
};

struct CodelParams {
  uint64_t target_ns = 5'000'000;      // RFC 8289's defaults
  uint64_t interval_ns = 100'000'000;
};

struct LinkParams {
  double rate_bps = 1e9;
  uint64_t delay_ns = 1'000'000;      // propagation
  uint32_t queue_packets = 1000;      // drop-tail limit, the packet in service included
  Aqm aqm = Aqm::droptail;
  RedParams red;
  CodelParams codel;
  LossModel loss;
  double reorder = 0;                 // probability a packet is held back ...
  uint64_t reorder_delay_ns = 0;      // ... by this much more (so later ones pass it)
  double duplicate = 0;
  double corrupt = 0;                 // one bit flipped past the Ethernet header
  // Drops chosen frames (a test's "lose this SYN"), counted as lost.
  std::function<bool(std::span<const uint8_t> frame)> drop_if;
  std::string str() const;
};

struct LinkStats {
  uint64_t offered = 0;         // packets handed to the link
  uint64_t sent = 0;            // packets serialized
  uint64_t bytes = 0;           // bytes serialized
  uint64_t lost = 0;            // dropped by the loss model
  uint64_t queue_drops = 0;     // dropped at the full queue
  uint64_t corrupted = 0, duplicated = 0, reordered = 0;
  uint32_t max_queue = 0;
  uint64_t aqm_drops = 0;       // dropped early by RED or CoDel (not counted in queue_drops)
  uint64_t queue_delay_ns = 0;  // summed over the packets sent: time waiting before service
  uint64_t busy_ns = 0;         // time spent serializing
  // TCP payload bytes that never arrived intact: lost, dropped at the queue,
  // or corrupted (the receiver's checksum drops those).
  uint64_t lost_payload = 0;
};

// What happens to a frame offered to a link, for a trace (lib/sim/trace.hh).
enum class LinkEvent : uint8_t {
  sent,        // serialized, to arrive after the delay (`at` is when it was offered)
  lost,        // dropped by the loss model (or drop_if)
  queue_drop,  // dropped at the full queue, or early by RED or CoDel
  corrupted,   // sent with one bit flipped
  duplicated,  // sent twice
  reordered,   // held back so that later frames pass it
};
const char* link_event_name(LinkEvent e);

class LinkTrace {
 public:
  virtual ~LinkTrace() = default;
  // `link` names the link ("sender->receiver"); `frame` is as offered (for
  // corrupted: after the flip).
  virtual void on_link(const std::string& link, LinkEvent e, uint64_t at,
                       std::span<const uint8_t> frame) = 0;
};

// One direction of a link: a drop-tail queue feeding a serializer of fixed
// rate, then propagation delay, impairments, and delivery to a node's port.
class Link final : public stack::FrameSink {
 public:
  Link(Simulator& sim, stack::MemDevice& pool, const LinkParams& p, Node* to, uint32_t to_port,
       uint64_t seed, std::string name = {});
  void set_trace(LinkTrace* t) { trace_ = t; }
  const std::string& name() const { return name_; }
  void take(Packet& p, uint64_t now) override;
  const LinkStats& stats() const { return stats_; }
  const LinkParams& params() const { return p_; }
  // Serialization time of `bytes` (Ethernet preamble and gap not modelled).
  uint64_t tx_time(uint32_t bytes) const { return uint64_t(double(bytes) * 8e9 / p_.rate_bps); }
  // Packets queued or in service at `now`.
  uint32_t queue_length(uint64_t now) const;

 private:
  bool lose();
  // RED's decision for an arrival finding `queued` packets (updates the average).
  bool red_drop(uint32_t queued, uint64_t now);
  // CoDel's decision for a packet reaching the head at `head` after waiting
  // `sojourn`: the queue is FIFO at a fixed rate, so both are known when it
  // arrives, and the state machine runs in head order (docs/congestion.md).
  bool codel_drop(uint64_t sojourn, uint64_t head);
  void drop(Packet& p);
  void note(LinkEvent e, uint64_t at, const Packet& p) {
    if (trace_) trace_->on_link(name_, e, at, {p.data, p.len});
  }

  Simulator& sim_;
  stack::MemDevice& pool_;
  LinkParams p_;
  Node* to_;
  uint32_t to_port_;
  util::Rng rng_;
  bool bad_state_ = false;
  uint64_t busy_until_ = 0;
  std::deque<uint64_t> departures_;  // of packets queued or in service
  struct {
    double avg = 0;
    int64_t count = -1;  // arrivals since the last early drop
  } red_;
  struct {
    uint64_t first_above = 0;  // when the sojourn time may first be judged too long
    uint64_t drop_next = 0;
    uint32_t count = 0, last_count = 0;
    bool dropping = false;
  } codel_;
  LinkStats stats_;
  std::string name_;
  LinkTrace* trace_ = nullptr;
};

// ------------------------------------------------------------------ nodes

class Node {
 public:
  virtual ~Node() = default;
  virtual void receive(Packet& p, uint32_t port, uint64_t now) = 0;
  virtual void wake(uint64_t now) { (void)now; }
  virtual void attach(uint32_t port, Link* out) = 0;
  virtual uint32_t new_port() = 0;
  // For traces: "sender", "switch1".
  virtual std::string label() const = 0;
};

// A host: the real stack on an in-memory device whose frames go to a link.
class Host final : public Node {
 public:
  Host(Simulator& sim, std::string name, const stack::StackConfig& cfg, const wire::MacAddr& mac,
       size_t buffers);
  void receive(Packet& p, uint32_t port, uint64_t now) override;
  void wake(uint64_t now) override;
  void attach(uint32_t port, Link* out) override;
  uint32_t new_port() override { return 0; }
  std::string label() const override { return name_; }
  // Asks for a poll at `t` (after the application acted outside a callback).
  void kick(uint64_t t);
  // The device offers checksum offload and the receiving side's "NIC"
  // verifies what was left to it, so neither stack computes checksums (the
  // lab's runs, where a tenth of the time went to them). A link that corrupts
  // a frame takes the marks off, and the stack's own check drops it.
  void set_checksum_offload(bool on) {
    dev_.set_in_process(on);
    offload_ = on;
  }

  const std::string& name() const { return name_; }
  stack::Stack& stack() { return *stack_; }
  stack::MemDevice& device() { return dev_; }
  wire::Ipv4Addr ip() const { return stack_->config().addr.addr; }

 private:
  Simulator& sim_;
  std::string name_;
  stack::MemDevice dev_;
  std::unique_ptr<stack::Stack> stack_;
  uint64_t wake_at_ = UINT64_MAX;
  bool offload_ = false;
};

// A learning Ethernet switch with no delay of its own.
class Switch final : public Node {
 public:
  Switch(stack::MemDevice& pool, std::string name) : pool_(pool), name_(std::move(name)) {}
  std::string label() const override { return name_; }
  void receive(Packet& p, uint32_t port, uint64_t now) override;
  void attach(uint32_t port, Link* out) override;
  uint32_t new_port() override { return uint32_t(ports_.size()); }
  uint64_t flood_copies_failed() const { return copy_failed_; }

 private:
  stack::MemDevice& pool_;
  std::vector<Link*> ports_;
  std::unordered_map<uint64_t, uint32_t> table_;  // MAC -> port
  uint64_t copy_failed_ = 0;
  std::string name_;
};

// ------------------------------------------------------------------ networks

class Network {
 public:
  // `buffers`: packet buffers per host (frames in flight and queued count).
  explicit Network(uint64_t seed, size_t buffers = 8192);
  ~Network();

  Simulator& sim() { return sim_; }
  uint64_t seed() const { return seed_; }
  // A host at `cidr`; `base` supplies everything but the address and secret.
  Host& add_host(const std::string& name, const wire::Ipv4Cidr& cidr,
                 const stack::StackConfig& base = {});
  Switch& add_switch();
  // Two links, a -> b with `ab` and b -> a with `ba`; returns {ab, ba}.
  std::pair<Link*, Link*> connect(Node& a, Node& b, const LinkParams& ab, const LinkParams& ba);
  // Lets every host's receive queue take frames from every pool (call once
  // the topology is complete).
  void finish();
  // Every link reports what happens to each frame to `t` (nullptr: nobody).
  void set_trace(LinkTrace* t);
  // Hosts added from now on offload checksums (Host::set_checksum_offload).
  void set_checksum_offload(bool on) { offload_ = on; }

 private:
  uint64_t seed_;
  size_t buffers_;
  Simulator sim_;
  util::Rng seeds_;
  stack::MemDevice pool_;  // copies made by links and switches
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<Switch>> switches_;
  std::vector<std::unique_ptr<Link>> links_;
  uint32_t next_mac_ = 1;
  bool offload_ = false;
};

}  // namespace ts::sim
