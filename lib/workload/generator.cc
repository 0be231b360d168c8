#include "workload/generator.hh"

#include <algorithm>

namespace ts::workload {

namespace {
constexpr unsigned kMaxIssuePerTick = 4096;  // bounds one tick when far behind
}  // namespace

Generator::Generator(stack::TcpLayer& tcp, const GenConfig& cfg, std::unique_ptr<TcpMode> mode)
    : tcp_(tcp),
      cfg_(cfg),
      mode_(mode ? std::move(mode) : mode_info(cfg.mode).make_tcp(cfg)),
      per_request_(mode_->connection_per_request()),
      streaming_(mode_->streaming()),
      half_close_(mode_->half_close_after_request()),
      pacer_(cfg.schedule(), cfg.requests),
      conns_(tcp.capacity()),
      handshakes_(cfg.window_max()) {}

Generator::~Generator() = default;

util::Histogram Generator::take_interval() {
  util::Histogram h;
  std::swap(h, interval_);
  return h;
}

uint64_t Generator::next_deadline() const {
  if (!pacer_.may_issue()) return UINT64_MAX;
  if (want_open_) return last_now_ + 1'000'000;  // retry opening in 1 ms
  return pacer_.next_due();
}

void Generator::start(uint64_t now) {
  start_ = now;
  pacer_.start(now);
  last_now_ = now;
  // The closed loop's connections (all modes), or the open loop's pool of
  // persistent connections; open-loop cps connects per request.
  if (!pacer_.open_loop() || !per_request_) want_open_ = cfg_.conns;
  tick(now);
}

bool Generator::open_connection(uint64_t now, uint64_t due) {
  if (!handshakes_.may_open(now)) return false;
  tcp::Connection* c = tcp_.connect(cfg_.target, cfg_.port, this, now, cfg_.tcp);
  if (!c) {
    ++stats_.conns_no_slot;
    return false;
  }
  Conn& k = conns_[c->tag()];
  k = Conn{};
  k.phase = Phase::connecting;
  k.conn = c;
  k.started = due;
  k.open_seq = handshakes_.opened();
  k.opened_at = now;
  k.in_window = true;
  stats_.open = ++open_;
  ++stats_.conns_attempted;
  // Fast Open: the first request goes with the SYN (cps and --close: the
  // connection's only one; persistent connections in closed loop: their
  // first, as the pacer allows).
  if (c->config().fast_open && !streaming_) {
    if (per_request_) {
      begin_early(k, *c, due);
    } else if (!pacer_.open_loop() && pacer_.may_issue()) {
      pacer_.issue();
      begin_early(k, *c, due);
    }
  }
  return true;
}

void Generator::begin_early(Conn& k, tcp::Connection& c, uint64_t due) {
  k.early = true;
  begin_request(k, c, due);
  k.phase = Phase::connecting;  // until on_connected: the handshake is still in flight
}

void Generator::tick(uint64_t now) {
  last_now_ = now;
  if (!pacer_.started()) return;
  // (Re)open connections the closed loop (or the open loop's pool) lacks, as
  // many as the closed loop's ramp allows by now.
  const uint32_t allowed = cfg_.conns_at(now - start_);
  while (want_open_ && !pacer_.stopped() && open_ < allowed) {
    if (per_request_ && !pacer_.open_loop()) {
      if (!pacer_.may_issue()) {
        want_open_ = 0;
        break;
      }
      if (!open_connection(now, now)) break;
      pacer_.issue();
    } else if (!open_connection(now, now)) {
      break;
    }
    --want_open_;
  }
  if (!pacer_.open_loop()) return;
  // Open loop: everything due by now is issued (or waits) now.
  pacer_.release_due(now, kMaxIssuePerTick, [&](uint64_t due) {
    if (per_request_) return open_ < cfg_.conns && open_connection(now, due);
    if (idle_.empty()) return false;
    const uint32_t tag = idle_.back();
    idle_.pop_back();
    begin_request(conns_[tag], *conns_[tag].conn, due);
    return true;
  });
  stats_.late_dropped = pacer_.late_dropped();
  // cps: waiting requests take connection capacity as it frees up.
  if (per_request_) {
    uint64_t due;
    while (pacer_.waiting() && open_ < cfg_.conns) {
      if (!open_connection(now, pacer_.oldest_waiting())) break;
      pacer_.pop_waiting(due);
    }
  }
}

void Generator::begin_request(Conn& k, tcp::Connection& c, uint64_t due) {
  k.phase = Phase::busy;
  k.started = due;
  mode_->begin(k.x);
  ++stats_.requests_sent;
  pump(k, c);
}

void Generator::pump(Conn& k, tcp::Connection& c) {
  const uint64_t now = tcp_.now();
  if (streaming_) {
    if (!mode_->sends()) return;
    // By reference (zero-copy): segments are built straight from the mode's bytes.
    for (;;) {
      const std::span<const uint8_t> b = mode_->request_bytes(k.x, 0);
      const size_t sent = c.send_ref(b, now);
      stats_.bytes_tx += sent;
      if (sent < b.size()) return;
    }
  }
  while (k.x.req_left) {
    const std::span<const uint8_t> b = mode_->request_bytes(k.x, k.x.req_size - k.x.req_left);
    const size_t n = size_t(std::min<uint64_t>(b.size(), k.x.req_left));
    const size_t sent = c.send(b.first(n), now);
    stats_.bytes_tx += sent;
    k.x.req_left -= sent;
    if (sent < n) return;
  }
  // The whole request is queued: its FIN follows it (in the same segment
  // when it fits). Not before the handshake: a Fast Open request waits for
  // on_connected, since a shutdown in SYN-SENT forgets the connection.
  if (half_close_ && c.state() == tcp::State::established) c.shutdown(now);
}

void Generator::on_connected(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  if (k.phase != Phase::connecting) return;
  // The connection's only RTT sample so far is its handshake's. Only the open
  // loop shrinks the window on queueing delay: there the handshakes are the
  // offered load; a closed loop is bounded by --conns, and its handshakes
  // queue behind its own saturating data, which must not slow its ramp.
  if (!window_to_response()) {
    handshakes_.answered(k.open_seq, c.syn_retransmitted(),
                         pacer_.open_loop() && c.rtt().has_sample() ? c.rtt().srtt() : 0);
    k.in_window = false;
  }
  ++stats_.conns_established;
  k.phase = Phase::idle;
  if (k.early) {
    k.early = false;
    k.phase = Phase::busy;  // its request is on its way (maybe answered already)
    if (half_close_) pump(k, c);  // the rest of the request, then its FIN
  } else if (per_request_) {
    begin_request(k, c, k.started);
  } else if (streaming_) {
    k.phase = Phase::busy;
    pump(k, c);
  } else {
    next_request(k, c, tcp_.now());
  }
  if (want_open_ || pacer_.waiting()) tick(tcp_.now());  // a handshake slot is free
}

void Generator::on_writable(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  count_acked(k, c);
  if (k.phase == Phase::busy) pump(k, c);
}

// on_writable comes only after a write fell short, so the bytes acknowledged
// are also counted when a response completes and when the connection closes.
void Generator::count_acked(Conn& k, const tcp::Connection& c) {
  const uint64_t acked = c.bytes_acked();
  stats_.bytes_acked += acked - k.acked_seen;
  k.acked_seen = acked;
}

void Generator::on_readable(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  if (k.phase == Phase::closing || k.phase == Phase::unused) return;
  read_response(k, c);
}

void Generator::read_response(Conn& k, tcp::Connection& c) {
  const uint64_t now = tcp_.now();
  while (c.readable_size()) {
    if (k.phase != Phase::busy || streaming_) {
      // Bytes nobody asked for: the server does not speak this workload
      // (or, streaming, nothing to make of them).
      if (!streaming_) ++stats_.responses_bad;
      stats_.bytes_rx += c.readable_size();
      c.consume(c.readable_size(), now);
      return;
    }
    const TcpMode::Read r = mode_->read(k.x, c, stats_, now);
    if (r.outcome == TcpMode::Outcome::pending) return;
    complete(k, c, r.outcome == TcpMode::Outcome::ok, r.keep_connection);
  }
}

void Generator::complete(Conn& k, tcp::Connection& c, bool ok, bool keep_connection) {
  const uint64_t now = tcp_.now();
  const uint64_t lat = now > k.started ? now - k.started : 0;
  count_acked(k, c);
  stats_.latency.record(lat);
  interval_.record(lat);
  ++(ok ? stats_.responses_ok : stats_.responses_bad);
  pacer_.finish();
  if (k.in_window) {
    // The whole exchange is the sample: a server that falls behind queues
    // requests as well as SYNs, and a retransmission anywhere in it is a drop.
    handshakes_.answered(k.open_seq, c.syn_retransmitted() || c.retransmitted_bytes(),
                         now - k.opened_at);
    k.in_window = false;
  }
  k.phase = Phase::idle;
  if (per_request_ || !keep_connection) {
    retire(k, c);
    c.close(now);
    if (!pacer_.open_loop() && pacer_.may_issue()) {
      ++want_open_;
      tick(now);
    } else if (pacer_.open_loop() && !per_request_) {
      ++want_open_;  // keep the open loop's pool
    } else if (pacer_.open_loop()) {
      tick(now);  // a waiting cps request may take the freed capacity
    }
    return;
  }
  next_request(k, c, now);
}

void Generator::next_request(Conn& k, tcp::Connection& c, uint64_t now) {
  // Open loop: the oldest waiting request, or wait idle for the next; closed
  // loop: the next request at once, while the limit allows.
  if (pacer_.open_loop()) {
    uint64_t due;
    if (pacer_.pop_waiting(due))
      begin_request(k, c, due);
    else
      idle_.push_back(c.tag());
  } else if (pacer_.may_issue()) {
    pacer_.issue();
    begin_request(k, c, now);
  }
}

void Generator::retire(Conn& k, tcp::Connection& c) {
  if (k.in_window) handshakes_.ended();
  k.in_window = false;
  if (k.phase == Phase::idle) {
    auto it = std::find(idle_.begin(), idle_.end(), c.tag());
    if (it != idle_.end()) idle_.erase(it);
  }
  k.phase = Phase::closing;
  stats_.open = --open_;
}

void Generator::on_peer_closed(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  if (k.phase == Phase::closing || k.phase == Phase::unused) return;
  if (k.phase == Phase::busy && !streaming_) {
    ++stats_.errors;
    pacer_.finish();
  }
  retire(k, c);
  c.close(tcp_.now());
  if ((!per_request_ || !pacer_.open_loop()) && !pacer_.stopped()) ++want_open_;
}

void Generator::sample(GenStats& into) const {
  into.retransmitted_bytes = retx_closed_;
  into.cwnd_sum = into.cwnd_conns = 0;
  for (const Conn& k : conns_) {
    if (k.phase == Phase::unused || !k.conn) continue;
    into.retransmitted_bytes += k.conn->retransmitted_bytes();
    if (k.phase == Phase::idle || k.phase == Phase::busy) {
      into.cwnd_sum += k.conn->cwnd();
      ++into.cwnd_conns;
    }
  }
}

void Generator::on_closed(tcp::Connection& c, tcp::CloseReason why) {
  Conn& k = conns_[c.tag()];
  const Phase was = k.phase;
  if (was != Phase::unused) {
    retx_closed_ += c.retransmitted_bytes();
    count_acked(k, c);
  }
  if (was == Phase::closing || was == Phase::unused) {
    k = Conn{};
    return;
  }
  switch (why) {
    case tcp::CloseReason::refused: ++stats_.conns_refused; break;
    case tcp::CloseReason::timeout: ++stats_.conns_timed_out; break;
    case tcp::CloseReason::reset: ++stats_.conns_reset; break;
    default: break;
  }
  if (was == Phase::connecting) {
    if (why == tcp::CloseReason::refused) {
      handshakes_.answered(k.open_seq, c.syn_retransmitted());
      k.in_window = false;  // answered: no longer in flight (retire below)
    }
    ++stats_.conns_failed;
    if (per_request_) pacer_.finish();
    if (k.early) {
      ++stats_.errors;  // its request was sent and is lost with it
      if (!per_request_) pacer_.finish();
    }
  } else if (was == Phase::busy && !streaming_) {
    ++stats_.errors;
    pacer_.finish();
  }
  retire(k, c);
  k = Conn{};
  if (pacer_.stopped()) return;
  if (per_request_ && pacer_.open_loop()) return;  // tick() opens the next one
  ++want_open_;
}

void Generator::close_all(uint64_t now) {
  pacer_.stop();
  want_open_ = 0;
  for (Conn& k : conns_) {
    if (k.phase == Phase::unused || k.phase == Phase::closing) continue;
    tcp::Connection* c = k.conn;
    retire(k, *c);
    c->close(now);
  }
  idle_.clear();
}

}  // namespace ts::workload
