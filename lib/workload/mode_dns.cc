// dns: A queries for --qname (or each name of --qnames in turn), over UDP, or
// over TCP with RFC 7766's two-byte length: one query per connection (as
// `dig +tcp` and a resolver falling back from truncation ask), or many on
// each (--tcp-keepalive). An answer is ok when it is a response with the
// query's ID and question and RCODE NOERROR; any other RCODE is a bad answer,
// counted by its code.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "util/rng.hh"
#include "wire/bytes.hh"
#include "wire/dns.hh"
#include "workload/datagram_load.hh"
#include "workload/mode.hh"
#include "workload/tcp_mode.hh"
#include "stack/stack.hh"

namespace ts::workload {

namespace {

// The queries of a run, built once: query i asks for name i (ID 0, set per request).
class Questions {
 public:
  explicit Questions(const GenConfig& cfg) {
    for (const std::string& name : cfg.qnames) {
      std::vector<uint8_t> q;
      wire::build_dns_query(0, name, wire::kDnsTypeA, q);
      queries_.push_back(std::move(q));
    }
  }
  size_t size() const { return queries_.size(); }
  const std::vector<uint8_t>& query(size_t i) const { return queries_[i]; }
  // Whether `msg` answers query `which` sent with `id`: counted by RCODE.
  bool answer_ok(std::span<const uint8_t> msg, uint16_t id, size_t which, GenStats& s) const {
    wire::DnsHeader h;
    if (!wire::parse_dns_header(msg, h) || !h.response() || h.id != id) return false;
    const std::vector<uint8_t>& q = queries_[which];
    const size_t end = wire::dns_question_end(msg);
    // The question comes back as asked (RFC 1035 4.1.2; compare without case, 0x20).
    if (end != q.size()) return false;
    for (size_t i = wire::kDnsHeaderLen; i < end; ++i)
      if ((msg[i] | 0x20) != (q[i] | 0x20)) return false;
    ++s.dns_rcode[h.rcode()];
    return h.rcode() == 0;
  }

 private:
  std::vector<std::vector<uint8_t>> queries_;
};

// Over TCP: the framed query of each name, with an ID of its own.
class DnsTcp final : public TcpMode {
 public:
  explicit DnsTcp(const GenConfig& cfg) : q_(cfg), keepalive_(cfg.dns_keepalive) {
    for (size_t i = 0; i < q_.size(); ++i) {
      const std::vector<uint8_t>& q = q_.query(i);
      std::vector<uint8_t> f(2 + q.size());
      wire::store_be16(f.data(), uint16_t(q.size()));
      std::memcpy(f.data() + 2, q.data(), q.size());
      wire::store_be16(f.data() + 2, id_of(i));
      framed_.push_back(std::move(f));
    }
  }
  bool connection_per_request() const override { return !keepalive_; }
  void begin(Exchange& x) const override {
    x.which = uint32_t(next_++ % framed_.size());
    x.req_size = x.req_left = framed_[x.which].size();
    x.resp_left = 0;
    x.header_done = false;
  }
  std::span<const uint8_t> request_bytes(const Exchange& x, uint64_t offset) const override {
    const std::vector<uint8_t>& f = framed_[x.which];
    return {f.data() + offset, f.size() - offset};
  }
  Read read(Exchange& x, tcp::Connection& c, GenStats& s, uint64_t now) const override {
    const tcp::Bytes2 r = c.readable();
    if (!x.header_done) {
      if (r.size() < 2) return {};
      const uint8_t b0 = r.a.empty() ? r.b[0] : r.a[0];
      const uint8_t b1 = r.a.size() > 1 ? r.a[1] : r.b[1 - r.a.size()];
      x.resp_left = uint64_t(b0) << 8 | b1;
      x.header_done = true;
      s.bytes_rx += 2;
      c.consume(2, now);
      if (x.resp_left < wire::kDnsHeaderLen) return {Outcome::bad, false};
    }
    const tcp::Bytes2 m = c.readable();
    if (m.size() < x.resp_left) return {};
    uint8_t* msg = scratch_.data();
    size_t at = 0;
    for (std::span<const uint8_t> part : {m.a, m.b}) {
      const size_t k = std::min<size_t>(part.size(), x.resp_left - at);
      std::memcpy(msg + at, part.data(), k);
      at += k;
    }
    const size_t n = size_t(x.resp_left);
    s.bytes_rx += n;
    c.consume(n, now);
    x.resp_left = 0;
    const bool ok = q_.answer_ok({msg, n}, id_of(x.which), x.which, s);
    // A server may close after any answer (RFC 7766 6.2.3, and a stateless
    // one always does): the next query then takes a new connection.
    return {ok ? Outcome::ok : Outcome::bad, keepalive_ && c.state() == tcp::State::established};
  }

 private:
  static uint16_t id_of(size_t which) { return uint16_t(0x5a5a ^ (which * 40503u)); }
  Questions q_;
  bool keepalive_;
  std::vector<std::vector<uint8_t>> framed_;
  mutable uint64_t next_ = 0;
  mutable std::vector<uint8_t> scratch_ = std::vector<uint8_t>(65535);
};

// Over UDP: a datagram per query, the ID the request number's low 16 bits
// (so the slot of the answer), from a port of our own.
class DnsUdp final : public DatagramLoad, public stack::UdpReceiver {
 public:
  DnsUdp(stack::Stack& stack, const GenConfig& cfg) : DatagramLoad(cfg), stack_(stack), q_(cfg) {
    which_.resize(kSlots);
    util::Rng rng(cfg.seed * 31 + stack.config().tcp.core);
    port_ = stack_.udp_bind_ephemeral(cfg.target, cfg.port, this, uint32_t(rng.below(65536)));
  }
  ~DnsUdp() override {
    if (port_) stack_.udp_unbind(port_);
  }
  void on_datagram(const stack::Datagram& d, uint64_t now) override {
    wire::DnsHeader h;
    if (d.src != cfg_.target || d.src_port != cfg_.port || !wire::parse_dns_header(d.payload, h)) {
      ++stats_.foreign;
      return;
    }
    Slot& s = slot_of(h.id);
    if (s.reqno == UINT64_MAX) {
      ++stats_.foreign;
      return;
    }
    if (!s.in_flight) {
      count_unmatched(s, now);
      return;
    }
    const bool ok = q_.answer_ok(d.payload, h.id, which_[h.id], stats_);
    finish(s, now, ok, d.payload.size());
  }

 private:
  bool transmit(uint64_t reqno, uint64_t, uint64_t now) override {
    if (!port_) return false;
    const size_t which = size_t(reqno % q_.size());
    const std::vector<uint8_t>& q = q_.query(which);
    buf_.assign(q.begin(), q.end());
    wire::store_be16(buf_.data(), uint16_t(reqno));
    if (!stack_.send_udp(stack_.config().addr.addr, cfg_.target, port_, cfg_.port, buf_, now))
      return false;
    which_[uint16_t(reqno)] = uint32_t(which);
    stats_.bytes_tx += buf_.size();
    return true;
  }

  stack::Stack& stack_;
  Questions q_;
  uint16_t port_ = 0;
  std::vector<uint32_t> which_;  // per slot: the name asked
  std::vector<uint8_t> buf_;
};

}  // namespace

std::unique_ptr<TcpMode> make_dns_tcp_mode(const GenConfig& cfg) {
  return std::make_unique<DnsTcp>(cfg);
}

std::unique_ptr<Workload> make_dns_udp(stack::Stack& stack, const GenConfig& cfg) {
  return std::make_unique<DnsUdp>(stack, cfg);
}

}  // namespace ts::workload
