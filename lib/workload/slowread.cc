#include "workload/slowread.hh"

#include <algorithm>

#include "workload/server.hh"

namespace ts::workload {

SlowRead::SlowRead(stack::TcpLayer& tcp, const GenConfig& cfg)
    : tcp_(tcp),
      cfg_(cfg),
      conn_cfg_(cfg.tcp ? *cfg.tcp : tcp.config().tcp),  // the layer's (--cc, --no-sack) by default
      conns_(tcp.capacity()),
      handshakes_(cfg.window_max()) {
  conn_cfg_.rcvbuf = kRcvbuf;
  conn_cfg_.rcv_sws_avoidance = false;
  if (cfg.path != "/" || cfg.mode_http)
    request_ = "GET " + cfg.path + " HTTP/1.1\r\nHost: " + cfg.host +
               "\r\nUser-Agent: touchstone\r\nAccept: */*\r\n\r\n";
  pattern_.resize(std::max<uint32_t>(cfg.req_size, 1));
  fill_body_pattern(pattern_.data(), pattern_.size());
}

void SlowRead::start(uint64_t now) {
  now_ = now;
  to_open_ = cfg_.conns;
  next_read_ = now;
  tick(now);
}

util::Histogram SlowRead::take_interval() {
  util::Histogram h;
  std::swap(h, interval_);
  return h;
}

uint64_t SlowRead::next_deadline() const {
  if (to_open_ && !stopped_) return now_ + 1'000'000;  // more to open as handshakes end
  return cfg_.read_rate ? next_read_ : UINT64_MAX;
}

void SlowRead::tick(uint64_t now) {
  now_ = now;
  while (to_open_ && !stopped_ && handshakes_.may_open(now)) {
    tcp::Connection* c = tcp_.connect(cfg_.target, cfg_.port, this, now, &conn_cfg_);
    if (!c) {
      ++stats_.conns_no_slot;
      break;
    }
    conns_[c->tag()] = Conn{c, handshakes_.opened(), 0, false};
    ++stats_.conns_attempted;
    stats_.open = stats_.conns_attempted - stats_.conns_failed - stats_.conns_closed_by_peer -
                  stats_.conns_reset;
    --to_open_;
  }
  // --read-rate: every connection takes a byte, read_rate times a second.
  if (cfg_.read_rate && now >= next_read_) {
    next_read_ = now + 1'000'000'000 / cfg_.read_rate;
    for (Conn& k : conns_)
      if (k.conn && !k.ended && k.conn->readable_size()) {
        k.conn->consume(1, now);
        ++stats_.bytes_rx;
      }
  }
}

void SlowRead::on_connected(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  k.established = tcp_.now();
  handshakes_.answered(k.open_seq, c.syn_retransmitted());
  ++stats_.conns_established;
  // The request, then nothing more from us.
  if (!request_.empty()) {
    stats_.bytes_tx +=
        c.send({reinterpret_cast<const uint8_t*>(request_.data()), request_.size()}, tcp_.now());
  } else {
    stats_.bytes_tx += c.send(pattern_, tcp_.now());
  }
  ++stats_.requests_sent;
}

void SlowRead::ended(Conn& k, uint64_t now) {
  if (k.ended) return;
  k.ended = true;
  if (k.established) {
    const uint64_t after = now - k.established;
    stats_.latency.record(after);
    interval_.record(after);
  }
  stats_.open = stats_.conns_attempted - stats_.conns_failed - stats_.conns_closed_by_peer -
                stats_.conns_reset;
}

void SlowRead::on_peer_closed(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  if (k.ended) return;
  ++stats_.conns_closed_by_peer;
  ended(k, tcp_.now());
  c.close(tcp_.now());
}

void SlowRead::on_closed(tcp::Connection& c, tcp::CloseReason r) {
  Conn& k = conns_[c.tag()];
  if (!k.ended) {
    if (!k.established) {
      if (r == tcp::CloseReason::refused)
        handshakes_.answered(k.open_seq, c.syn_retransmitted());
      else
        handshakes_.ended();
      ++stats_.conns_failed;
      if (r == tcp::CloseReason::refused) ++stats_.conns_refused;
      if (r == tcp::CloseReason::timeout) ++stats_.conns_timed_out;
    } else if (r == tcp::CloseReason::reset) {
      ++stats_.conns_reset;
    } else if (r == tcp::CloseReason::timeout) {
      ++stats_.conns_timed_out;
      ++stats_.conns_reset;  // ended without our say, as a reset
    }
    ended(k, tcp_.now());
  }
  k = Conn{};
}

void SlowRead::close_all(uint64_t now) {
  stopped_ = true;
  for (Conn& k : conns_)
    if (k.conn && !k.ended) {
      k.ended = true;
      k.conn->abort();  // nothing more to learn; do not wait for the window
    }
  (void)now;
}

}  // namespace ts::workload
