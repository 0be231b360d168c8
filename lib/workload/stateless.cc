#include "workload/stateless.hh"

#include <algorithm>
#include <cstring>

#include "util/rng.hh"
#include "wire/bytes.hh"
#include "wire/dns.hh"

namespace ts::workload {

namespace {

constexpr uint64_t kExpiryCheckNs = 10'000'000;
constexpr size_t kMaxDnsMessage = 65535;
// A kept answer's first resend (then doubling): about a client's minimum RTO.
constexpr uint64_t kAnswerRtoNs = 200'000'000;
// The EDNS0 OPT record the relay adds to a query without one (RFC 6891).
constexpr size_t kOptLen = 11;
constexpr uint16_t kEdnsSize = 1232;

uint32_t hash_bytes(std::span<const uint8_t> b) {
  uint32_t h = 2166136261u;  // FNV-1a: a check against mix-ups, not a defence
  for (uint8_t c : b) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace

void StatelessStats::merge(const StatelessStats& o) {
  requests += o.requests;
  answers += o.answers;
  http_2xx += o.http_2xx;
  http_4xx += o.http_4xx;
  http_5xx += o.http_5xx;
  unfit += o.unfit;
  retransmits += o.retransmits;
  upstream_resent += o.upstream_resent;
  backend_failed += o.backend_failed;
  answers_resent += o.answers_resent;
  answers_unacked += o.answers_unacked;
  upstream_queries += o.upstream_queries;
  upstream_answers += o.upstream_answers;
  upstream_timeouts += o.upstream_timeouts;
  table_full += o.table_full;
  foreign += o.foreign;
  truncated += o.truncated;
  fallback_conns += o.fallback_conns;
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
}

StatelessServer::StatelessServer(stack::Stack& stack, const StatelessConfig& cfg)
    : stack_(stack),
      tcp_(stack.tcp()),
      cfg_(cfg),
      scratch_(2 + kMaxDnsMessage + kOptLen),
      rng_(cfg.seed * 0x9e3779b97f4a7c15ull + stack.tcp().config().core) {
  if (cfg_.app == ServerApp::stateless_http) {
    if (!cfg_.files && !cfg_.backend_port) {
      body_.resize(cfg_.http_size);
      fill_body_pattern(body_.data(), body_.size());
      ServerConfig sc;
      sc.http_size = cfg_.http_size;
      generated_heads_ = make_ok_heads(sc, nullptr);
    }
    if (cfg_.fallback && !cfg_.backend_port) {
      ServerConfig sc;
      sc.app = ServerApp::stateless_http;
      sc.port = cfg_.port;
      sc.files = cfg_.files;
      sc.http_size = cfg_.http_size;
      http_fallback_ = std::make_unique<Server>(tcp_, sc);
    }
    if (!cfg_.backend_port) return;
    backend_events_.s = this;
    by_conn_.assign(tcp_.capacity(), 0);
  }
  cfg_.max_inflight = std::clamp<uint32_t>(cfg_.max_inflight, 1, 65536);
  table_.resize(cfg_.max_inflight);
  free_.reserve(cfg_.max_inflight);
  for (uint32_t i = cfg_.max_inflight; i-- > 0;) free_.push_back(i);
  size_t r = 1;
  while (r < 2 * size_t(cfg_.max_inflight)) r <<= 1;
  recent_.assign(r, 0);
  id_salt_ = uint16_t(rng_.below(65536));
  if (cfg_.app == ServerApp::dns && cfg_.fallback) pending_by_tag_.assign(tcp_.capacity(), 0);
}

StatelessServer::~StatelessServer() {
  tcp_.unlisten(cfg_.port);
  if (udp_port_) stack_.udp_unbind(udp_port_);
}

bool StatelessServer::start() {
  if (cfg_.app == ServerApp::dns) {
    util::Rng rng(cfg_.seed + 7919u * tcp_.config().core);
    udp_port_ = stack_.udp_bind_ephemeral(cfg_.upstream, cfg_.upstream_port, this,
                                          uint32_t(rng.below(65536)));
    if (!udp_port_) return false;
  }
  stack::Acceptor* fallback = nullptr;
  if (cfg_.fallback)
    fallback = http_fallback_ ? static_cast<stack::Acceptor*>(http_fallback_.get()) : this;
  return tcp_.listen_stateless(cfg_.port, this, fallback);
}

StatelessStats StatelessServer::stats() const {
  StatelessStats s = stats_;
  if (http_fallback_) {
    const ServerStats& f = http_fallback_->stats();
    s.fallback_conns += f.accepted;
    s.requests += f.requests;
    s.answers += f.requests;
    s.http_2xx += f.http_2xx;
    s.http_4xx += f.http_4xx;
    s.http_5xx += f.http_5xx;
    s.bytes_in += f.bytes_in;
    s.bytes_out += f.bytes_out;
  }
  return s;
}

stack::StatelessApp::Verdict StatelessServer::on_request(const stack::StatelessTxn& x,
                                                         std::span<const uint8_t> request) {
  if (cfg_.app == ServerApp::dns) return relay_dns(x, request);
  return cfg_.backend_port ? fetch(x, request) : answer_http(x, request);
}

stack::StatelessApp::Verdict StatelessServer::answer_http(const stack::StatelessTxn& x,
                                                          std::span<const uint8_t> request) {
  const std::string_view view(reinterpret_cast<const char*>(request.data()), request.size());
  HttpRequest req;
  const HeadScan block = scan_request(view, req);
  const size_t end = block.end;
  if (!end) {
    ++stats_.unfit;  // the rest of the request is in another segment
    return Verdict::unfit;
  }
  ServerConfig sc;
  sc.files = cfg_.files;
  sc.http_size = cfg_.http_size;
  int status = 400;
  const FileIndex::File* file = nullptr;
  if (block.ok) {
    // One request: its body in this segment too, and nothing after it
    // (pipelined requests are answered in turn by the ordinary path).
    const uint64_t body = req.has_body ? req.content_length : 0;
    if ((req.has_body && !body) || end + body != request.size()) {
      ++stats_.unfit;
      return Verdict::unfit;
    }
    status = route_http(sc, req, file);
  }
  const bool head = req.method == Method::head;
  char hdr[512];
  const std::string_view h = http_head(hdr, sc, generated_heads_, status, head, false, file);
  tcp::Payload p;
  p.part[p.n++] = {reinterpret_cast<const uint8_t*>(h.data()), h.size()};
  if (status == 200 && !head) {
    if (file && file->size)
      p.part[p.n++] = {file->data, file->size};
    else if (!file && !body_.empty())
      p.part[p.n++] = body_;
  }
  if (p.size() > x.window) {
    ++stats_.unfit;  // larger than the client's window: the fallback, or a reset
    return Verdict::unfit;
  }
  ++stats_.requests;
  stats_.bytes_in += request.size();
  tcp_.stateless_answer(x, p, tcp_.now());
  ++stats_.answers;
  stats_.bytes_out += p.size();
  ++(status < 300 ? stats_.http_2xx : status < 500 ? stats_.http_4xx : stats_.http_5xx);
  return Verdict::answered;
}

uint32_t StatelessServer::recent_slot(const tcp::FourTuple& t, uint32_t seq) const {
  uint64_t h = (uint64_t(t.remote_ip.v) << 32 | seq) * 0x9e3779b97f4a7c15ull;
  h ^= (uint64_t(t.remote_port) << 16 | t.local_port) * 0xc2b2ae3d27d4eb4full;
  return uint32_t(h >> 40) & uint32_t(recent_.size() - 1);
}

stack::StatelessApp::Verdict StatelessServer::relay_dns(const stack::StatelessTxn& x,
                                                        std::span<const uint8_t> request) {
  // RFC 7766 8: a two-byte length, then the message; one whole query only.
  if (request.size() < 2 || wire::load_be16(request.data()) + 2u != request.size() ||
      request.size() < 2 + wire::kDnsHeaderLen) {
    ++stats_.unfit;
    return Verdict::unfit;
  }
  if (request.size() - 2 + kOptLen > size_t(stack_.mtu()) - 28) {
    ++stats_.unfit;  // no UDP datagram takes it (IP fragments are not sent)
    return Verdict::unfit;
  }
  const uint64_t now = tcp_.now();
  // The client sent it again: its query is still upstream (perhaps lost).
  if (Entry* e = asked_again(x, now)) {
    if (e->resend_at != UINT64_MAX) resend(*e, now);
    return Verdict::pending;
  }
  if (!take_request(request.size())) return Verdict::answered;
  const uint32_t index = free_.back();
  Entry& e = table_[index];
  e = Entry{};
  e.x = x;
  if (!send_upstream(e, request.subspan(2), now)) return Verdict::answered;
  recent_[recent_slot(x.t, x.seq)] = index + 1;
  recent_[recent_slot(x.t, x.rcv_end)] = index + 1;  // a FIN of the client's (on_ack)
  return Verdict::pending;
}

StatelessServer::Entry* StatelessServer::asked_again(const stack::StatelessTxn& x, uint64_t now) {
  const uint32_t r = recent_[recent_slot(x.t, x.seq)];
  if (!r) return nullptr;
  Entry& e = table_[r - 1];
  const bool stateless_client = !e.conn || e.backend;
  if (!e.used || !stateless_client || e.answered || !(e.x.t == x.t) || e.x.seq != x.seq)
    return nullptr;
  ++stats_.retransmits;
  // The client's retransmission timer is shorter than the upstream: the
  // request is acknowledged now (again, if our ACK was lost: one for one,
  // paced by the client), and the answer follows when it comes.
  e.acked = true;
  tcp_.stateless_ack(e.x, now);
  return &e;
}

bool StatelessServer::take_request(size_t bytes) {
  if (free_.empty()) {
    ++stats_.table_full;  // unacknowledged: the client sends it again
    return false;
  }
  ++stats_.requests;
  stats_.bytes_in += bytes;
  // A random free entry, so that the upstream ID (the entry's index, salted)
  // is not the one just used: a forger must guess it anew each time.
  std::swap(free_[size_t(rng_.below(free_.size()))], free_.back());
  return true;
}

bool StatelessServer::send_upstream(Entry& e, std::span<const uint8_t> query, uint64_t now) {
  const uint32_t index = uint32_t(&e - table_.data());
  const size_t qend = wire::dns_question_end(query);
  e.client_id = wire::load_be16(query.data());
  e.question_hash = hash_bytes(query.subspan(wire::kDnsHeaderLen, qend ? qend - wire::kDnsHeaderLen : 0));
  e.deadline = now + cfg_.upstream_timeout_ns;
  uint8_t* q = scratch_.data();
  std::memmove(q, query.data(), query.size());  // the query may be in scratch_ already
  wire::store_be16(q, uint16_t(index ^ id_salt_));
  size_t size = query.size();
  // Without EDNS a resolver truncates answers beyond 512 bytes, which the
  // client asked over TCP to avoid: an OPT record offering 1232 bytes (the
  // DNS flag day's size, under any MTU's fragmentation) is added, and taken
  // off the answer again.
  e.added_opt = wire::load_be16(q + 10) == 0;
  if (e.added_opt) {
    const uint8_t opt[kOptLen] = {0, 0, 41, kEdnsSize >> 8, kEdnsSize & 0xff, 0, 0, 0, 0, 0, 0};
    std::memcpy(q + size, opt, kOptLen);
    size += kOptLen;
    wire::store_be16(q + 10, 1);
  }
  query = {q, size};
  if (e.conn) ++pending_by_tag_[e.conn->tag()];
  if (!stack_.send_udp(stack_.config().addr.addr, cfg_.upstream, udp_port_, cfg_.upstream_port,
                       {q, query.size()}, now)) {
    if (e.conn) --pending_by_tag_[e.conn->tag()];
    return false;  // no buffer (counted by the stack): the client sends it again
  }
  e.resend_at = UINT64_MAX;
  if (query.size() <= kKept) {
    std::memcpy(e.kept.data(), q, query.size());
    e.kept_len = uint32_t(query.size());
    e.resend_at = now + resend_interval();
  }
  e.used = true;
  free_.pop_back();
  ++stats_.upstream_queries;
  return true;
}

void StatelessServer::resend(Entry& e, uint64_t now) {
  if (e.answered) {
    e.backoff = std::min(2 * e.backoff, cfg_.upstream_timeout_ns);
    e.resend_at = now + e.backoff;
    if (tcp_.stateless_answer(e.x, kept_answer(e), now)) ++stats_.answers_resent;
    return;
  }
  e.resend_at = now + resend_interval();
  if (stack_.send_udp(stack_.config().addr.addr, cfg_.upstream, udp_port_, cfg_.upstream_port,
                      {e.kept.data(), e.kept_len}, now))
    ++stats_.upstream_resent;
}

void StatelessServer::answer_client(uint32_t index, std::span<const uint8_t> framed, uint64_t now) {
  Entry& e = table_[index];
  tcp::Payload p;
  p.part[p.n++] = framed;
  if (!tcp_.stateless_answer(e.x, p, now)) {
    ++stats_.unfit;  // larger than the client's window: reset by the layer
    release(index);
    return;
  }
  ++stats_.answers;
  stats_.bytes_out += framed.size();
  if (!e.acked || framed.size() > kKept) {
    // Unacknowledged, the request comes again if this is lost.
    release(index);
    return;
  }
  // Acknowledged alone, the request will not come again: the answer is
  // ours to repeat until the client's ACK (or the timeout) comes.
  std::memcpy(e.kept.data(), framed.data(), framed.size());
  e.kept_len = uint32_t(framed.size());
  e.answered = true;
  e.backoff = kAnswerRtoNs;
  e.resend_at = now + e.backoff;
  e.deadline = now + cfg_.upstream_timeout_ns;
  recent_[recent_slot(e.x.t, e.x.rcv_end)] = index + 1;
}

bool StatelessServer::on_ack(const tcp::FourTuple& t, uint32_t seq, uint32_t ack_no, bool fin) {
  if (recent_.empty()) return false;
  const uint32_t r = recent_[recent_slot(t, seq)];
  if (!r) return false;
  Entry& e = table_[r - 1];
  if (!e.used || (e.conn && !e.backend) || !(e.x.t == t) || e.x.rcv_end != seq) return false;
  if (!e.answered) {
    // The client's FIN while its answer is being made: the layer's ACK of it
    // acknowledges the request too, so the client will not ask again and
    // the answer, when it comes, is kept until acknowledged; it acknowledges
    // the FIN as well, and the client's ACK of it comes from past the FIN.
    if (fin) {
      e.acked = true;
      e.x.rcv_end = seq + 1;
      recent_[recent_slot(t, e.x.rcv_end)] = r;
    }
    return false;
  }
  // Our FIN acknowledged: the answer arrived whole.
  if (ack_no == e.x.snd + e.kept_len + 1) {
    finish(r - 1, false);
    return false;
  }
  return true;
}

tcp::Payload StatelessServer::kept_answer(const Entry& e) const {
  tcp::Payload p;
  if (!e.backend) {
    p.part[p.n++] = {e.kept.data(), e.kept_len};
    return p;
  }
  const tcp::Bytes2 r = e.conn->readable();
  const size_t a = std::min<size_t>(r.a.size(), e.kept_len);
  p.part[p.n++] = r.a.first(a);
  if (a < e.kept_len) p.part[p.n++] = r.b.first(e.kept_len - a);
  return p;
}

void StatelessServer::finish(uint32_t index, bool abort) {
  Entry& e = table_[index];
  tcp::Connection* c = e.backend ? e.conn : nullptr;
  if (c) by_conn_[c->tag()] = 0;
  release(index);
  if (!c) return;
  if (abort) {
    c->abort();
  } else {
    c->consume(c->readable_size(), tcp_.now());
    c->close(tcp_.now());
  }
}

stack::StatelessApp::Verdict StatelessServer::fetch(const stack::StatelessTxn& x,
                                                    std::span<const uint8_t> request) {
  const std::string_view view(reinterpret_cast<const char*>(request.data()), request.size());
  HttpRequest req;
  const HeadScan head = scan_request(view, req);
  const size_t end = head.end;
  if (!end || !head.ok ||
      end + (req.has_body ? req.content_length : 0) != request.size() ||
      (req.has_body && !req.content_length)) {
    ++stats_.unfit;  // not one whole request (a malformed one: the backend's 400 is not ours to make)
    return Verdict::unfit;
  }
  const uint64_t now = tcp_.now();
  if (asked_again(x, now)) return Verdict::pending;  // answered when the page comes
  if (!take_request(request.size())) return Verdict::answered;
  tcp::Connection* c = tcp_.connect(cfg_.backend, cfg_.backend_port, &backend_events_, now);
  if (!c) {
    ++stats_.table_full;  // no slot or port for the fetch (counted by the layer too)
    return Verdict::answered;
  }
  if (c->send(request, now) != request.size()) {
    c->abort();
    ++stats_.backend_failed;
    return Verdict::answered;
  }
  const uint32_t index = free_.back();
  free_.pop_back();
  Entry& e = table_[index];
  e = Entry{};
  e.x = x;
  e.conn = c;
  e.backend = true;
  e.head = req.method == Method::head;
  e.used = true;
  e.deadline = now + cfg_.upstream_timeout_ns;
  e.resend_at = UINT64_MAX;
  by_conn_[c->tag()] = index + 1;
  recent_[recent_slot(x.t, x.seq)] = index + 1;
  recent_[recent_slot(x.t, x.rcv_end)] = index + 1;  // a FIN of the client's (on_ack)
  ++stats_.upstream_queries;
  return Verdict::pending;
}

void StatelessServer::backend_progress(tcp::Connection& c, bool closed) {
  const uint32_t r = by_conn_[c.tag()];
  if (!r) return;
  const uint32_t index = r - 1;
  Entry& e = table_[index];
  if (e.answered) return;  // kept: the ring holds the answer
  const uint64_t now = tcp_.now();
  const tcp::Bytes2 bytes = c.readable();
  // Complete at the end of its Content-Length body or its last chunk, else
  // when the backend closes. Interim 1xx responses (100 Continue) go ahead
  // of the final one and are relayed with it.
  size_t size = 0, start = 0;
  const std::string_view all =
      header_view(bytes.a, bytes.b, reinterpret_cast<char*>(scratch_.data()));
  HttpResponse resp;
  bool parsed = false;
  size_t end = 0;
  for (;;) {
    const std::string_view view = all.substr(start);
    const HeadScan head = scan_response(view, resp);
    end = head.end;
    parsed = end && head.ok;
    if (!parsed || resp.status >= 200 || resp.status == 101) break;
    start += end;
  }
  end += start;
  // No body: to HEAD, and for 101, 204 and 304 (RFC 9110 6.4.1).
  const bool bodiless =
      parsed && (e.head || resp.status == 101 || resp.status == 204 || resp.status == 304);
  if (bodiless) {
    size = end;
  } else if (parsed && resp.has_length && !resp.chunked) {
    if (bytes.size() >= end + resp.content_length) size = end + size_t(resp.content_length);
  } else if (parsed && resp.chunked && bytes.size() >= end + 5) {
    // The last chunk with no trailers: "0\r\n\r\n" at the end of what came.
    char tail[5];
    const size_t n = bytes.size();
    for (size_t i = 0; i < 5; ++i) {
      const size_t at = n - 5 + i;
      tail[i] = char(at < bytes.a.size() ? bytes.a[at] : bytes.b[at - bytes.a.size()]);
    }
    if (std::string_view(tail, 5) == "0\r\n\r\n") size = n;
  }
  if (!size && closed) size = bytes.size();
  if (!size) {
    if (closed) {  // closed with nothing sent
      ++stats_.backend_failed;
      tcp_.stateless_reset(e.x, now);
      finish(index, true);
    } else if (bytes.size() > e.x.window) {  // it can no longer fit: no use waiting
      ++stats_.unfit;
      tcp_.stateless_reset(e.x, now);
      finish(index, true);
    }
    return;
  }
  ++stats_.upstream_answers;
  e.kept_len = uint32_t(size);
  if (size > e.x.window) {
    ++stats_.unfit;
    tcp_.stateless_reset(e.x, now);
    finish(index, true);
    return;
  }
  tcp_.stateless_answer(e.x, kept_answer(e), now);
  ++stats_.answers;
  stats_.bytes_out += size;
  if (parsed)
    ++(resp.status < 300 ? stats_.http_2xx : resp.status < 500 ? stats_.http_4xx : stats_.http_5xx);
  if (!e.acked) {
    finish(index, false);  // the client asks again if the answer is lost
    return;
  }
  // Acknowledged alone: repeated from the ring until the client's ACK.
  e.answered = true;
  e.backoff = kAnswerRtoNs;
  e.resend_at = now + e.backoff;
  e.deadline = now + cfg_.upstream_timeout_ns;
  recent_[recent_slot(e.x.t, e.x.rcv_end)] = index + 1;
}

void StatelessServer::backend_closed(tcp::Connection& c) {
  const uint32_t r = by_conn_[c.tag()];
  if (!r) return;
  by_conn_[c.tag()] = 0;
  Entry& e = table_[r - 1];
  if (e.answered) {
    ++stats_.answers_unacked;  // the ring that held it is gone
  } else {
    ++stats_.backend_failed;
    tcp_.stateless_reset(e.x, tcp_.now());
  }
  release(r - 1);
}

void StatelessServer::release(uint32_t index) {
  Entry& e = table_[index];
  if (!e.used) return;
  if (e.conn && !e.backend) --pending_by_tag_[e.conn->tag()];
  e.used = false;
  e.conn = nullptr;
  free_.push_back(index);
}

void StatelessServer::on_datagram(const stack::Datagram& d, uint64_t now) {
  wire::DnsHeader h;
  if (d.src != cfg_.upstream || d.src_port != cfg_.upstream_port ||
      !wire::parse_dns_header(d.payload, h) || !h.response()) {
    ++stats_.foreign;
    return;
  }
  const uint32_t index = index_of_id(h.id);
  if (index >= table_.size() || !table_[index].used || table_[index].answered) {
    ++stats_.foreign;  // late (given up, or answered already) or never asked
    return;
  }
  Entry& e = table_[index];
  // The question must be the one asked (answers carry it back, RFC 1035 4.1.2).
  const size_t qend = wire::dns_question_end(d.payload);
  if (hash_bytes(d.payload.subspan(wire::kDnsHeaderLen, qend ? qend - wire::kDnsHeaderLen : 0)) !=
      e.question_hash) {
    ++stats_.foreign;
    return;
  }
  ++stats_.upstream_answers;
  if (h.truncated()) {
    // Over TCP the client asked for the whole answer; the resolver would only
    // give it over TCP, which the relay does not speak upstream.
    ++stats_.truncated;
    if (tcp::Connection* c = e.conn) {
      release(index);
      c->abort();
    } else {
      tcp_.stateless_reset(e.x, now);
      release(index);
    }
    return;
  }
  // The client's ID back, and RFC 7766's length in front.
  uint8_t* a = scratch_.data();
  size_t size = d.payload.size();
  std::memcpy(a + 2, d.payload.data(), size);
  wire::store_be16(a + 2, e.client_id);
  if (e.added_opt && h.arcount > 0 && size >= wire::kDnsHeaderLen + kOptLen) {
    // Our OPT, last in the answer (resolvers put it there): taken off. An
    // OPT with options, or elsewhere, stays (clients ignore what they did
    // not ask for).
    const uint8_t* o = a + 2 + size - kOptLen;
    if (o[0] == 0 && o[1] == 0 && o[2] == 41 && o[9] == 0 && o[10] == 0) {
      size -= kOptLen;
      wire::store_be16(a + 2 + 10, uint16_t(h.arcount - 1));
    }
  }
  wire::store_be16(a, uint16_t(size));
  const std::span<const uint8_t> framed(a, size + 2);
  if (tcp::Connection* c = e.conn) {
    release(index);
    if (c->send(framed, now) != framed.size()) {
      c->abort();  // out of buffer: a cut answer would corrupt the stream
      return;
    }
    ++stats_.answers;
    stats_.bytes_out += framed.size();
    if (c->state() == tcp::State::close_wait && !pending_on(*c)) c->close(now);
    return;
  }
  answer_client(index, framed, now);
}

void StatelessServer::tick(uint64_t now) {
  if (free_.size() == table_.size() || now < next_expiry_) return;
  next_expiry_ = now + kExpiryCheckNs;
  for (uint32_t i = 0; i < table_.size(); ++i) {
    Entry& e = table_[i];
    if (!e.used) continue;
    if (now < e.deadline) {
      if (now >= e.resend_at) resend(e, now);
      continue;
    }
    if (e.answered) {
      ++stats_.answers_unacked;  // the client is gone, or never got it
      finish(i, false);
      continue;
    }
    ++stats_.upstream_timeouts;
    if (e.backend) {
      tcp_.stateless_reset(e.x, now);
      finish(i, true);
    } else if (e.conn) {
      tcp::Connection* c = e.conn;
      release(i);
      c->abort();
    } else {
      tcp_.stateless_reset(e.x, now);
      release(i);
    }
  }
}

// dns --fallback stateful: the ordinary path's connections, whose queries go
// through the same table.
tcp::Events* StatelessServer::on_accept(const tcp::FourTuple&) {
  ++stats_.fallback_conns;
  return this;
}

void StatelessServer::on_readable(tcp::Connection& c) {
  const uint64_t now = tcp_.now();
  for (;;) {
    const tcp::Bytes2 r = c.readable();
    if (r.size() < 2) return;
    uint8_t len[2];
    len[0] = r.a.empty() ? r.b[0] : r.a[0];
    len[1] = r.a.size() > 1 ? r.a[1] : r.b[1 - r.a.size()];
    const size_t n = wire::load_be16(len);
    if (r.size() < 2 + n) return;  // the rest is coming
    uint8_t* q = scratch_.data();
    size_t at = 0;
    for (std::span<const uint8_t> part : {r.a, r.b}) {
      const size_t k = std::min(part.size(), 2 + n - at);
      std::memcpy(q + at, part.data(), k);
      at += k;
    }
    c.consume(2 + n, now);
    ++stats_.requests;
    stats_.bytes_in += 2 + n;
    if (n < wire::kDnsHeaderLen || n + kOptLen > size_t(stack_.mtu()) - 28) {
      ++stats_.unfit;
      c.abort();  // not a DNS message, or none a datagram can carry: the stream is lost
      return;
    }
    if (free_.empty()) {
      ++stats_.table_full;
      c.abort();  // a stream cannot drop one query and go on
      return;
    }
    std::swap(free_[size_t(rng_.below(free_.size()))], free_.back());
    Entry& e = table_[free_.back()];
    e = Entry{};
    e.conn = &c;
    if (!send_upstream(e, {q + 2, n}, now)) {
      c.abort();
      return;
    }
  }
}


void StatelessServer::on_peer_closed(tcp::Connection& c) {
  if (!pending_on(c)) c.close(tcp_.now());  // else once its last answer is sent
}

void StatelessServer::on_closed(tcp::Connection& c, tcp::CloseReason) {
  // Its queries still upstream have nobody to answer.
  for (uint32_t i = 0; pending_on(c) && i < table_.size(); ++i)
    if (table_[i].used && table_[i].conn == &c) release(i);
}

}  // namespace ts::workload
