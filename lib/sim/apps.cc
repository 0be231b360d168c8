#include "sim/apps.hh"

#include <algorithm>
#include <cstring>

namespace ts::sim {

namespace {

inline uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 32;
  return x;
}

// Word i of a flow is (i + 1) * K ^ seed: every word of a flow differs from
// every other, so a byte out of place or altered is caught, and consecutive
// words need one addition each, which keeps 100 MB cheap to make and check.
constexpr uint64_t kStep = 0x9e3779b97f4a7c15ull;

inline uint8_t byte_at(uint64_t seed, uint64_t off) {
  return uint8_t((((off >> 3) + 1) * kStep ^ seed) >> ((off & 7) * 8));
}

}  // namespace

uint64_t flow_seed(wire::Ipv4Addr sender, uint16_t sender_port) {
  return mix((uint64_t(sender.v) << 16 | sender_port) + 0x51ed270b27);
}

void fill_pattern(uint64_t seed, uint64_t off, uint8_t* out, size_t n) {
  size_t i = 0;
  for (; i < n && ((off + i) & 7); ++i) out[i] = byte_at(seed, off + i);
  uint64_t w = ((off + i) >> 3) * kStep;  // word index times K, before the +1
  for (; i + 8 <= n; i += 8) {
    w += kStep;
    const uint64_t v = w ^ seed;
    std::memcpy(out + i, &v, 8);
  }
  for (; i < n; ++i) out[i] = byte_at(seed, off + i);
}

size_t check_pattern(uint64_t seed, uint64_t off, const uint8_t* in, size_t n) {
  size_t i = 0;
  for (; i < n && ((off + i) & 7); ++i)
    if (in[i] != byte_at(seed, off + i)) return i;
  uint64_t w = ((off + i) >> 3) * kStep;
  for (; i + 8 <= n; i += 8) {
    w += kStep;
    uint64_t v;
    std::memcpy(&v, in + i, 8);
    if (v != (w ^ seed)) break;  // find the byte below
  }
  for (; i < n; ++i)
    if (in[i] != byte_at(seed, off + i)) return i;
  return n;
}

std::vector<uint8_t> pattern_block(uint64_t seed) {
  std::vector<uint8_t> b(kPeriod);
  fill_pattern(seed, 0, b.data(), b.size());
  return b;
}

namespace {

// Copies n bytes of the periodic pattern from stream offset off.
void copy_periodic(const std::vector<uint8_t>& block, uint64_t off, uint8_t* out, size_t n) {
  while (n) {
    const size_t at = size_t(off % kPeriod), k = std::min(n, kPeriod - at);
    std::memcpy(out, block.data() + at, k);
    out += k;
    off += k;
    n -= k;
  }
}

bool matches_periodic(const std::vector<uint8_t>& block, uint64_t off, const uint8_t* in, size_t n) {
  while (n) {
    const size_t at = size_t(off % kPeriod), k = std::min(n, kPeriod - at);
    if (std::memcmp(in, block.data() + at, k) != 0) return false;
    in += k;
    off += k;
    n -= k;
  }
  return true;
}

}  // namespace

// ------------------------------------------------------------------ sender

BulkSender::BulkSender(Simulator& sim, Host& host, uint64_t bytes, bool periodic)
    : sim_(sim), host_(host), bytes_(bytes), chunk_(64 * 1024), periodic_(periodic) {}

bool BulkSender::start(wire::Ipv4Addr dst, uint16_t port, const tcp::TcpConfig* cfg) {
  started_at_ = sim_.now();
  conn_ = host_.stack().tcp().connect(dst, port, this, sim_.now(), cfg);
  if (!conn_) return false;
  seed_ = flow_seed(host_.ip(), conn_->tuple().local_port);
  if (periodic_) block_ = pattern_block(seed_);
  host_.kick(sim_.now());
  return true;
}

void BulkSender::pump(tcp::Connection& c) {
  while (sent_ < bytes_) {
    const size_t want = size_t(std::min<uint64_t>({bytes_ - sent_, chunk_.size(), c.send_space()}));
    if (want == 0) break;
    if (periodic_)
      copy_periodic(block_, sent_, chunk_.data(), want);
    else
      fill_pattern(seed_, sent_, chunk_.data(), want);
    const size_t n = c.send({chunk_.data(), want}, sim_.now());
    sent_ += n;
    if (n < want) break;
  }
  if (sent_ == bytes_ && !shut_) {
    shut_ = true;
    c.shutdown(sim_.now());
  }
}

void BulkSender::on_readable(tcp::Connection& c) { c.consume(c.readable_size(), sim_.now()); }

void BulkSender::on_peer_closed(tcp::Connection&) { peer_closed_ = true; }

void BulkSender::on_closed(tcp::Connection& c, tcp::CloseReason r) {
  closed_ = true;
  reason_ = r;
  final_retransmitted_ = c.retransmitted_bytes();
  conn_ = nullptr;
}

uint64_t BulkSender::retransmitted_bytes() const {
  return conn_ ? conn_->retransmitted_bytes() : final_retransmitted_;
}

// ------------------------------------------------------------------ receiver

BulkReceiver::BulkReceiver(Simulator& sim, Host& host, uint64_t chunk, uint64_t period_ns,
                           bool periodic)
    : sim_(sim), host_(host), chunk_(chunk), period_(period_ns), periodic_(periodic) {}

tcp::Events* BulkReceiver::on_accept(const tcp::FourTuple& t) {
  Flow f;
  f.seed = flow_seed(t.remote_ip, t.remote_port);
  if (periodic_) f.block = pattern_block(f.seed);
  flows_.push_back(std::move(f));
  return this;
}

BulkReceiver::Flow* BulkReceiver::flow_of(tcp::Connection& c) {
  const uint64_t seed = flow_seed(c.tuple().remote_ip, c.tuple().remote_port);
  for (auto& f : flows_)
    if (f.seed == seed && !f.closed) {
      f.conn = &c;
      return &f;
    }
  return nullptr;
}

void BulkReceiver::read(tcp::Connection& c) {
  Flow* f = flow_of(c);
  if (!f) return;
  tcp::Bytes2 r = c.readable();
  size_t n = r.size();
  if (period_) {
    const uint64_t tick = sim_.now() / period_;
    if (tick != f->tick) {
      f->tick = tick;
      f->allowance = chunk_;
    }
    n = size_t(std::min<uint64_t>(n, f->allowance));
    f->allowance -= n;
  }
  size_t done = 0;
  for (auto part : {r.a, r.b}) {
    const size_t k = std::min(part.size(), n - done);
    if (k && !(periodic_ ? matches_periodic(f->block, f->received + done, part.data(), k)
                         : check_pattern(f->seed, f->received + done, part.data(), k) == k))
      f->corrupt = true;
    done += k;
    if (done == n) break;
  }
  f->received += n;
  if (n) c.consume(n, sim_.now());
  if (c.readable_size())
    schedule_read(size_t(f - flows_.data()));
  else if (f->fin)
    c.close(sim_.now());  // everything read: answer the sender's FIN with ours
}

void BulkReceiver::schedule_read(size_t idx) {
  Flow& f = flows_[idx];
  if (f.read_scheduled) return;
  f.read_scheduled = true;
  // Come back at the start of the next period.
  sim_.call_at((sim_.now() / period_ + 1) * period_, [this, idx] {
    Flow& fl = flows_[idx];
    fl.read_scheduled = false;
    if (!fl.conn || fl.closed) return;
    read(*fl.conn);
    host_.kick(sim_.now());
  });
}

void BulkReceiver::on_peer_closed(tcp::Connection& c) {
  Flow* f = flow_of(c);
  if (!f) return;
  f->fin = true;
  f->fin_at = sim_.now();
  if (c.readable_size() == 0) c.close(sim_.now());  // else once read() drains it
}

void BulkReceiver::on_closed(tcp::Connection& c, tcp::CloseReason r) {
  Flow* f = flow_of(c);
  if (!f) return;
  f->closed = true;
  f->reason = r;
  f->closed_at = sim_.now();
  f->conn = nullptr;
}

}  // namespace ts::sim
