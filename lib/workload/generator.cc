#include "workload/generator.hh"

#include <algorithm>
#include <cstring>

#include "workload/http.hh"
#include "workload/server.hh"

namespace ts::workload {

namespace {
constexpr size_t kPayload = 64 * 1024;
constexpr size_t kDueCapacity = 1 << 20;   // open loop: due requests that may wait
constexpr unsigned kMaxIssuePerTick = 4096;  // bounds one tick when far behind
}  // namespace

const char* gen_mode_name(GenMode m) {
  switch (m) {
    case GenMode::cps: return "cps";
    case GenMode::rr: return "rr";
    case GenMode::bulk: return "bulk";
    case GenMode::http: return "http";
  }
  return "?";
}

bool parse_gen_mode(std::string_view s, GenMode& out) {
  for (GenMode m : {GenMode::cps, GenMode::rr, GenMode::bulk, GenMode::http})
    if (s == gen_mode_name(m)) {
      out = m;
      return true;
    }
  return false;
}

void GenStats::merge(const GenStats& o) {
  conns_attempted += o.conns_attempted;
  conns_established += o.conns_established;
  conns_failed += o.conns_failed;
  conns_no_slot += o.conns_no_slot;
  requests_sent += o.requests_sent;
  responses_ok += o.responses_ok;
  responses_bad += o.responses_bad;
  errors += o.errors;
  bytes_rx += o.bytes_rx;
  bytes_tx += o.bytes_tx;
  bytes_acked += o.bytes_acked;
  late_dropped += o.late_dropped;
  latency.merge(o.latency);
}

Generator::Generator(stack::TcpLayer& tcp, const GenConfig& cfg)
    : tcp_(tcp), cfg_(cfg), conns_(tcp.capacity()), payload_(kPayload),
      scratch_(kMaxHeaderBlock) {
  fill_body_pattern(payload_.data(), payload_.size());
  if (cfg_.mode == GenMode::http)
    request_ = "GET " + cfg_.path + " HTTP/1.1\r\nHost: " + cfg_.host +
               "\r\nUser-Agent: touchstone\r\nAccept: */*\r\n\r\n";
  if (cfg_.rate > 0) due_.resize(kDueCapacity);
}

Generator::~Generator() = default;

util::Histogram Generator::take_interval() {
  util::Histogram h;
  std::swap(h, interval_);
  return h;
}

bool Generator::done() const {
  return cfg_.requests && cfg_.mode != GenMode::bulk && finished_ >= cfg_.requests;
}

uint64_t Generator::next_deadline() const {
  if (!started_ || !may_issue()) return UINT64_MAX;
  if (want_open_) return last_now_ + 1'000'000;  // retry opening in 1 ms
  return cfg_.rate > 0 ? next_due_ : UINT64_MAX;
}

void Generator::start(uint64_t now) {
  started_ = true;
  next_due_ = now;
  last_now_ = now;
  // The closed loop's connections (all modes), or the open loop's pool of
  // persistent connections; open-loop cps connects per request.
  if (cfg_.rate <= 0 || cfg_.mode != GenMode::cps) want_open_ = cfg_.conns;
  tick(now);
}

bool Generator::open_connection(uint64_t now, uint64_t due) {
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
  ++open_;
  ++stats_.conns_attempted;
  return true;
}

bool Generator::pop_due(uint64_t& due) {
  if (!due_count_) return false;
  due = due_[due_head_];
  due_head_ = (due_head_ + 1) % due_.size();
  --due_count_;
  return true;
}

void Generator::tick(uint64_t now) {
  last_now_ = now;
  if (!started_) return;
  // (Re)open connections the closed loop (or the open loop's pool) lacks.
  while (want_open_ && !stopped_) {
    if (cfg_.mode == GenMode::cps && cfg_.rate <= 0) {
      if (!may_issue()) {
        want_open_ = 0;
        break;
      }
      if (!open_connection(now, now)) break;
      ++issued_;
    } else if (!open_connection(now, now)) {
      break;
    }
    --want_open_;
  }
  if (cfg_.rate <= 0) return;
  // Open loop: everything due by now is issued (or queued) now.
  const uint64_t step = std::max<uint64_t>(interval_ns(), 1);
  for (unsigned n = 0; n < kMaxIssuePerTick && next_due_ <= now && may_issue(); ++n) {
    const uint64_t due = next_due_;
    next_due_ += step;
    ++issued_;
    if (cfg_.mode == GenMode::cps) {
      if (open_ < cfg_.conns && !due_count_ && open_connection(now, due)) continue;
    } else if (!idle_.empty() && !due_count_) {
      const uint32_t tag = idle_.back();
      idle_.pop_back();
      begin_request(conns_[tag], *conns_[tag].conn, due);
      continue;
    }
    if (due_count_ == due_.size()) {
      ++stats_.late_dropped;
      ++finished_;
      continue;
    }
    due_[(due_head_ + due_count_) % due_.size()] = due;
    ++due_count_;
  }
  // cps: queued requests take connection capacity as it frees up.
  if (cfg_.mode == GenMode::cps) {
    uint64_t due;
    while (due_count_ && open_ < cfg_.conns) {
      due = due_[due_head_];
      if (!open_connection(now, due)) break;
      pop_due(due);
    }
  }
}

void Generator::begin_request(Conn& k, tcp::Connection& c, uint64_t due) {
  k.phase = Phase::busy;
  k.started = due;
  k.header_done = false;
  k.status = 0;
  if (cfg_.mode == GenMode::http) {
    k.req_left = request_.size();
    k.resp_left = 0;
  } else {
    k.req_left = cfg_.req_size;
    k.resp_left = cfg_.resp_size;
  }
  ++stats_.requests_sent;
  pump(k, c);
}

void Generator::pump(Conn& k, tcp::Connection& c) {
  const uint64_t now = tcp_.now();
  if (cfg_.mode == GenMode::bulk) {
    // By reference (zero-copy): segments are built straight from the pattern.
    for (;;) {
      const size_t sent = c.send_ref(payload_, now);
      stats_.bytes_tx += sent;
      if (sent < payload_.size()) return;
    }
  }
  while (k.req_left) {
    const uint8_t* p;
    size_t n;
    if (cfg_.mode == GenMode::http) {
      const size_t off = request_.size() - size_t(k.req_left);
      p = reinterpret_cast<const uint8_t*>(request_.data()) + off;
      n = size_t(k.req_left);
    } else {
      const uint64_t off = uint64_t(cfg_.req_size) - k.req_left;
      p = payload_.data() + off % payload_.size();
      n = size_t(std::min<uint64_t>(k.req_left, payload_.size() - off % payload_.size()));
    }
    const size_t sent = c.send({p, n}, now);
    stats_.bytes_tx += sent;
    k.req_left -= sent;
    if (sent < n) return;
  }
}

void Generator::on_connected(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  if (k.phase != Phase::connecting) return;
  ++stats_.conns_established;
  k.phase = Phase::idle;
  switch (cfg_.mode) {
    case GenMode::cps:
      begin_request(k, c, k.started);
      break;
    case GenMode::bulk:
      k.phase = Phase::busy;
      pump(k, c);
      break;
    case GenMode::rr:
    case GenMode::http:
      next_request(k, c, tcp_.now());
      break;
  }
}

void Generator::on_writable(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  const uint64_t acked = c.bytes_acked();
  stats_.bytes_acked += acked - k.acked_seen;
  k.acked_seen = acked;
  if (k.phase == Phase::busy) pump(k, c);
}

void Generator::on_readable(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  if (k.phase == Phase::closing || k.phase == Phase::unused) return;
  read_response(k, c);
}

void Generator::read_response(Conn& k, tcp::Connection& c) {
  const uint64_t now = tcp_.now();
  while (c.readable().size()) {
    const tcp::Bytes2 r = c.readable();
    if (k.phase != Phase::busy || cfg_.mode == GenMode::bulk) {
      // Bytes nobody asked for: the server does not speak this workload.
      if (cfg_.mode != GenMode::bulk) ++stats_.responses_bad;
      stats_.bytes_rx += r.size();
      c.consume(r.size(), now);
      return;
    }
    if (cfg_.mode == GenMode::http && !k.header_done) {
      const std::string_view view = header_view(r.a, r.b, scratch_.data());
      const size_t end = find_header_end(view);
      if (!end) {
        if (view.size() >= kMaxHeaderBlock) complete(k, c, false);
        return;
      }
      HttpResponse resp;
      const bool parsed = parse_response(view.substr(0, end), resp);
      stats_.bytes_rx += end;
      c.consume(end, now);
      // We need the length to find the next response: without it, the
      // response (and the connection) is done.
      if (!parsed || !resp.has_length || resp.chunked) {
        k.keep_alive = false;
        complete(k, c, false);
        return;
      }
      k.header_done = true;
      k.keep_alive = resp.keep_alive;
      k.resp_left = resp.content_length;
      k.status = uint16_t(resp.status);
      if (k.resp_left == 0) {
        complete(k, c, resp.status >= 200 && resp.status < 300);
        continue;
      }
      continue;
    }
    const size_t n = size_t(std::min<uint64_t>(r.size(), k.resp_left));
    stats_.bytes_rx += n;
    c.consume(n, now);
    k.resp_left -= n;
    if (k.resp_left == 0 && k.req_left == 0) {
      const bool ok = cfg_.mode != GenMode::http || (k.status >= 200 && k.status < 300);
      complete(k, c, ok);
    } else if (k.resp_left == 0) {
      // The whole response before the whole request was even queued.
      complete(k, c, false);
    }
  }
}

void Generator::complete(Conn& k, tcp::Connection& c, bool ok) {
  const uint64_t now = tcp_.now();
  const uint64_t lat = now > k.started ? now - k.started : 0;
  stats_.latency.record(lat);
  interval_.record(lat);
  ++(ok ? stats_.responses_ok : stats_.responses_bad);
  ++finished_;
  k.phase = Phase::idle;
  const bool reconnect = cfg_.mode == GenMode::cps ||
                         (cfg_.mode == GenMode::http && (!k.keep_alive || !ok));
  if (reconnect) {
    release(k, c);
    c.close(now);
    if (cfg_.rate <= 0 && may_issue()) {
      ++want_open_;
      tick(now);
    } else if (cfg_.rate > 0 && cfg_.mode != GenMode::cps) {
      ++want_open_;  // keep the open loop's pool
    } else if (cfg_.rate > 0) {
      tick(now);  // a queued cps request may take the freed capacity
    }
    return;
  }
  next_request(k, c, now);
}

void Generator::next_request(Conn& k, tcp::Connection& c, uint64_t now) {
  // Open loop: the oldest due request, or wait idle for the next; closed
  // loop: the next request at once, while the limit allows.
  uint64_t due;
  if (cfg_.rate > 0) {
    if (pop_due(due))
      begin_request(k, c, due);
    else
      idle_.push_back(c.tag());
  } else if (may_issue()) {
    ++issued_;
    begin_request(k, c, now);
  }
}

void Generator::release(Conn& k, tcp::Connection& c) {
  if (k.phase == Phase::idle) {
    auto it = std::find(idle_.begin(), idle_.end(), c.tag());
    if (it != idle_.end()) idle_.erase(it);
  }
  k.phase = Phase::closing;
  --open_;
}

void Generator::on_peer_closed(tcp::Connection& c) {
  Conn& k = conns_[c.tag()];
  if (k.phase == Phase::closing || k.phase == Phase::unused) return;
  if (k.phase == Phase::busy && cfg_.mode != GenMode::bulk) {
    ++stats_.errors;
    ++finished_;
  }
  release(k, c);
  c.close(tcp_.now());
  if (cfg_.mode != GenMode::cps || cfg_.rate <= 0) {
    if (!stopped_) ++want_open_;
  }
}

void Generator::on_closed(tcp::Connection& c, tcp::CloseReason) {
  Conn& k = conns_[c.tag()];
  const Phase was = k.phase;
  if (was == Phase::closing || was == Phase::unused) {
    k = Conn{};
    return;
  }
  if (was == Phase::connecting) {
    ++stats_.conns_failed;
    if (cfg_.mode == GenMode::cps) ++finished_;
  } else if (was == Phase::busy && cfg_.mode != GenMode::bulk) {
    ++stats_.errors;
    ++finished_;
  }
  release(k, c);
  k = Conn{};
  if (stopped_) return;
  if (cfg_.mode == GenMode::cps && cfg_.rate > 0) return;  // tick() opens the next one
  ++want_open_;
}

void Generator::stop() { stopped_ = true; }

void Generator::close_all(uint64_t now) {
  stopped_ = true;
  want_open_ = 0;
  for (Conn& k : conns_) {
    if (k.phase == Phase::unused || k.phase == Phase::closing) continue;
    tcp::Connection* c = k.conn;
    release(k, *c);
    c->close(now);
  }
  idle_.clear();
}

}  // namespace ts::workload
