#include "stack/tcp_layer.hh"

#include <algorithm>

#include "stack/steering.hh"
#include "tcp/seq.hh"
#include "wire/bytes.hh"

namespace ts::stack {

using namespace wire::tcpflag;

namespace {
size_t half_capacity(const TcpLayerConfig& c) {
  return c.max_half_open ? c.max_half_open : c.max_connections;
}
}  // namespace

TcpLayer::TcpLayer(IpOutput& ip, const TcpLayerConfig& cfg, const std::array<uint8_t, 16>& secret,
                   tcp::TcpCounters& counters)
    : ip_(ip),
      mtu_(ip.mtu()),
      sources_(std::max<uint32_t>(ip.source_addresses(), 1)),
      cfg_(cfg),
      // Each use of the secret has a key of its own, derived from it, so that
      // nothing learned about one (the flow table's probe runs, the first
      // port) tells anything about another (the ISNs).
      isn_(tcp::derive_key128(secret, "tcp isn")),
      cookies_(secret),
      fastopen_cookies_(secret),
      replay_guard_(cfg.fastopen_replay_guard
                        ? std::make_unique<tcp::ReplayGuard>(secret, cfg.fastopen_replay_entries)
                        : nullptr),
      ctr_(counters),
      table_((size_t(cfg.max_connections) + half_capacity(cfg)) * 2,
             tcp::derive_key(secret, "flow table 0"), tcp::derive_key(secret, "flow table 1")),
      buffers_(cfg.buffer_memory, &counters.tcp_buffer_refused),
      pool_(new ConnStorage[cfg.max_connections]),
      half_(half_capacity(cfg)),
      timers_(uint32_t(cfg.max_connections + half_capacity(cfg))),
      gro_(cfg.coalesce) {
  slots_.reserve(cfg.max_connections);
  free_.reserve(cfg.max_connections);
  half_free_.reserve(half_.size());
  for (uint32_t i = uint32_t(half_.size()); i-- > 0;) half_free_.push_back(i);
  burst_acks_.reserve(64);
  // Start the port search somewhere unpredictable (RFC 6056).
  const uint32_t span = uint32_t(cfg_.ephemeral_last - cfg_.ephemeral_first) + 1;
  const uint64_t port_seed = tcp::derive_key(secret, "first port");
  src_cursor_.assign(sources_, uint32_t(port_seed % span));
  if (cfg_.placement && cfg_.placement->cores() > 1) build_port_pool();
}

void TcpLayer::build_port_pool() {
  const FlowPlacement& fp = *cfg_.placement;
  const size_t groups = fp.reta_size();
  group_start_.assign(groups + 1, 0);
  auto group_of = [&](uint16_t p) { return fp.local_port_part(p) & (groups - 1); };
  for (uint32_t p = cfg_.ephemeral_first; p <= cfg_.ephemeral_last; ++p)
    ++group_start_[group_of(uint16_t(p)) + 1];
  for (size_t g = 0; g < groups; ++g) group_start_[g + 1] += group_start_[g];
  pool_ports_.resize(group_start_[groups]);
  std::vector<uint32_t> fill(group_start_.begin(), group_start_.end() - 1);
  for (uint32_t p = cfg_.ephemeral_first; p <= cfg_.ephemeral_last; ++p)
    pool_ports_[fill[group_of(uint16_t(p))]++] = uint16_t(p);
  pool_group_.resize(pool_ports_.size());
  for (uint32_t g = 0; g < groups; ++g)
    for (uint32_t i = group_start_[g]; i < group_start_[g + 1]; ++i) pool_group_[i] = uint16_t(g);
}

TcpLayer::~TcpLayer() {
  for (auto& s : slots_)
    if (s.conn) s.conn->~Connection();
}

TcpLayer::Listener* TcpLayer::find_listener(uint16_t port) {
  for (auto& l : listeners_)
    if (l->port == port) return l.get();
  return nullptr;
}

bool TcpLayer::listen_stateless(uint16_t port, StatelessApp* app, Acceptor* fallback,
                                const tcp::TcpConfig* cfg) {
  if (!app || find_listener(port)) return false;
  auto l = std::make_unique<Listener>();
  l->port = port;
  l->acceptor = fallback;
  l->stateless = app;
  l->syncookies = SynCookieMode::always;
  l->cfg = cfg ? *cfg : cfg_.tcp;
  l->conn_cfg = intern(l->cfg);
  if (!l->conn_cfg) return false;
  listeners_.push_back(std::move(l));
  return true;
}

bool TcpLayer::listen(uint16_t port, Acceptor* acceptor, uint32_t backlog,
                      const tcp::TcpConfig* cfg) {
  if (!acceptor || find_listener(port)) return false;
  auto l = std::make_unique<Listener>();
  l->port = port;
  l->acceptor = acceptor;
  l->backlog = backlog;
  l->syncookies = cfg_.syncookies;
  l->cfg = cfg ? *cfg : cfg_.tcp;
  l->conn_cfg = intern(l->cfg);
  if (!l->conn_cfg) return false;
  listeners_.push_back(std::move(l));
  return true;
}

void TcpLayer::unlisten(uint16_t port) {
  // Its handshakes in progress go with it (they must not read it once freed);
  // connections it accepted are the application's and go on.
  Listener* l = find_listener(port);
  if (!l) return;
  for (uint32_t i = 0; i < half_.size(); ++i)
    if (half_[i].listener == l) drop_half_open(i);
  for (Slot& s : slots_)
    if (s.fastopen_listener == l) s.fastopen_listener = nullptr;
  // The application may be inside a call this listener is held by (on_accept;
  // on_closed of a TIME-WAIT recycled for its new connection; a stateless
  // request): closed, it accepts nothing more, and poll() frees it.
  l->closed = true;
  const auto it = std::find_if(listeners_.begin(), listeners_.end(),
                               [&](const auto& x) { return x.get() == l; });
  retired_.push_back(std::move(*it));
  listeners_.erase(it);
}

const tcp::TcpConfig* TcpLayer::intern(const tcp::TcpConfig& c) {
  if (c == cfg_.tcp) return &cfg_.tcp;
  // Newest first: a generator opens its connections with one configuration.
  for (size_t i = configs_.size(); i-- > 0;)
    if (*configs_[i] == c) return configs_[i].get();
  if (configs_.size() >= kMaxConfigs) return nullptr;
  configs_.push_back(std::make_unique<tcp::TcpConfig>(c));
  return configs_.back().get();
}

uint32_t TcpLayer::new_slot(const tcp::FourTuple& t, const tcp::TcpConfig* cfg, tcp::Events* ev,
                            bool flow_held) {
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else if (slots_.size() < cfg_.max_connections) {
    id = uint32_t(slots_.size());
    slots_.emplace_back();
  } else if (recycle_time_wait()) {
    id = free_.back();
    free_.pop_back();
  } else {
    if (flow_held) table_.erase(t);
    ++ctr_.tcp_conn_limit;
    return FlowTable::kNone;
  }
  // (A held entry gone meanwhile, which no caller does today, is inserted anew.)
  if (!((flow_held && table_.assign(t, id)) || table_.insert(t, id))) {
    free_.push_back(id);
    ++ctr_.tcp_conn_limit;
    return FlowTable::kNone;
  }
  Slot& s = slots_[id];
  s.conn = new (&pool_[id]) tcp::Connection(cfg, t, host_, ev, mtu_, &buffers_);
  s.conn->set_tag(id);
  s.conn->set_ack_coalescing(true);
  ++s.generation;
  s.reaping = false;
  s.in_cache = false;
  s.abusive = false;
  s.reclaimed = false;
  s.overridden = false;
  s.time_wait_noted = false;
  s.fastopen_listener = nullptr;
  s.published = s.joins_seen = 0;
  s.next_publish = 0;
  return id;
}

bool TcpLayer::time_wait_to_recycle() {
  for (; tw_count_; time_wait_pop())
    if (time_wait_live(time_wait_[tw_head_])) return true;
  return false;
}

bool TcpLayer::recycle_time_wait() {
  if (!time_wait_to_recycle()) return false;
  const uint32_t id = time_wait_[tw_head_].first;
  time_wait_pop();
  // Its FIN is acknowledged both ways; all it still does is answer a
  // retransmitted FIN (now a reset) and keep the 4-tuple from an early
  // reuse, which our ports taken in turn and timestamps (PAWS) guard too,
  // as Linux destroys TIME-WAITs beyond tcp_max_tw_buckets.
  slots_[id].conn->abandon();
  release(id);
  ++ctr_.tcp_time_wait_recycled;
  return true;
}

void TcpLayer::note_time_wait(uint32_t id) {
  if (tw_count_ == time_wait_.size()) {
    if (time_wait_.size() < cfg_.max_connections) {
      // Grown (rarely: the ring keeps its largest size) in order, oldest first.
      std::vector<std::pair<uint32_t, uint32_t>> ring;
      ring.reserve(std::min<size_t>(cfg_.max_connections, std::max<size_t>(64, 2 * time_wait_.size())));
      for (size_t i = 0; i < tw_count_; ++i) ring.push_back(time_wait_[(tw_head_ + i) % time_wait_.size()]);
      ring.resize(ring.capacity());
      time_wait_.swap(ring);
      tw_head_ = 0;
    } else {
      // Full (rarely: entries go stale mid-ring when a TIME-WAIT ends another
      // way). At most max_connections entries are live, one a slot, and this
      // slot's is not among them: dropping the stale ones makes room.
      std::vector<std::pair<uint32_t, uint32_t>> ring(time_wait_.size());
      size_t kept = 0;
      for (size_t i = 0; i < tw_count_; ++i) {
        const auto e = time_wait_[(tw_head_ + i) % time_wait_.size()];
        if (time_wait_live(e)) ring[kept++] = e;
      }
      time_wait_.swap(ring);
      tw_head_ = 0;
      tw_count_ = kept;
    }
  }
  size_t at = tw_head_ + tw_count_++;
  if (at >= time_wait_.size()) at -= time_wait_.size();
  time_wait_[at] = {id, slots_[id].generation};
}

void TcpLayer::release(uint32_t id, bool keep_flow) {
  Slot& s = slots_[id];
  if (!s.conn) return;
  fastopen_settled(s);
  report_path(s);
  if (!keep_flow) table_.erase(s.conn->tuple());
  s.conn->~Connection();
  s.conn = nullptr;
  timers_.cancel(id);
  ++s.generation;
  s.reaping = false;
  free_.push_back(id);
}

bool TcpLayer::take_port(tcp::FourTuple& t, uint16_t p, bool& flow_held) {
  t.local_port = p;
  if (find_listener(p)) return false;
  const uint32_t id = table_.find(t);
  if (id == FlowTable::kNone) return true;
  if (is_half_open(id)) return false;
  // Ports are taken in turn, so the TIME-WAIT met here is the oldest: a load
  // generator that closes first reuses it rather than run out of ports (like
  // Linux's tcp_tw_reuse).
  if (!slots_[id].conn->reusable_for_connect(now_)) return false;
  slots_[id].conn->abandon();
  // The new connection has the same 4-tuple: its entry is handed over (one
  // lookup instead of a delete, with its backward shift, and an insert).
  // Nothing looks the tuple up before connect() calls new_slot(): abandon()'s
  // on_closed, which may connect again, ran with the slot still in place.
  release(id, true);
  flow_held = true;
  ++ctr_.tcp_time_wait_reused;
  return true;
}

uint16_t TcpLayer::pick_port(uint32_t src, wire::Ipv4Addr local, wire::Ipv4Addr remote,
                             uint16_t remote_port, bool& flow_held) {
  // Each source address has its own cursor and moves it past the port it
  // takes, so every address meets every port before one repeats (one cursor
  // for all, moved on every connect, paired address i of n with every n-th
  // port only: a run cycled through lcm(n, ports) pairs).
  tcp::FourTuple t{local, remote, 0, remote_port};
  uint32_t& cur = src_cursor_[src];
  const uint32_t span = uint32_t(cfg_.ephemeral_last - cfg_.ephemeral_first) + 1;
  if (pool_ports_.empty()) {
    for (uint32_t tries = 0; tries < span; ++tries) {
      const uint32_t at = cur + tries < span ? cur + tries : cur + tries - span;
      const uint16_t p = uint16_t(cfg_.ephemeral_first + at);
      if (!take_port(t, p, flow_held)) continue;
      cur = at + 1 == span ? 0 : at + 1;
      return p;
    }
    return 0;
  }
  // The pool holds the ports grouped by their share of the flow hash (one
  // group per redirection-table entry). The flow's hash is the XOR of the
  // port's share and the rest's, so the core a port leads to is
  // reta[(rest ^ group) & mask]: whole groups are ours or not, checked with
  // one table read, and the groups of other cores are skipped whole.
  const FlowPlacement& fp = *cfg_.placement;
  const uint32_t rest = fp.without_local_port(local, remote, remote_port);
  uint32_t at = cur;
  for (uint32_t seen = 0; seen < span;) {
    const uint32_t g = pool_group_[at];
    if (fp.owner_of_hash(rest ^ g) != cfg_.core) {
      const uint32_t next = group_start_[g + 1];
      seen += next - at;
      at = next == span ? 0 : next;
      continue;
    }
    const uint16_t p = pool_ports_[at];
    at = at + 1 == span ? 0 : at + 1;
    ++seen;
    if (!take_port(t, p, flow_held)) continue;
    cur = at;
    return p;
  }
  return 0;
}

// Inlined: returned from a call, the 4-tuple went through the stack in
// narrow stores read back wide, a stall of its own (docs/performance.md).
[[gnu::always_inline]] inline tcp::FourTuple TcpLayer::connect_candidate(
    uint32_t k, wire::Ipv4Addr remote, uint16_t remote_port) const {
  // Sources are taken in turn, each from its own cursor (pick_port): the
  // k-th connect from now uses source (base + k) mod n, whose cursor the
  // connects before it moved once each time they used that source.
  const uint32_t base = next_src_ >= sources_ ? 0 : next_src_;
  const uint32_t i = base + k;
  uint32_t src = i, steps = 0;
  if (i >= sources_) {
    src = i % sources_;
    steps = i / sources_ - (src < base ? 1 : 0);
  }
  const wire::Ipv4Addr local = ip_.source_address(src);
  const uint32_t span = uint32_t(cfg_.ephemeral_last - cfg_.ephemeral_first) + 1;
  uint32_t at = src_cursor_[src];
  if (pool_ports_.empty()) {
    at += steps;
    while (at >= span) at -= span;
    return {local, remote, uint16_t(cfg_.ephemeral_first + at), remote_port};
  }
  // The pool: this core's groups only, as pick_port() walks them.
  const FlowPlacement& fp = *cfg_.placement;
  const uint32_t rest = fp.without_local_port(local, remote, remote_port);
  for (uint32_t n = 0;; ++n) {
    at = owned_from(at, rest);
    if (n == steps) break;
    at = at + 1 == span ? 0 : at + 1;
  }
  return {local, remote, pool_ports_[at], remote_port};
}

uint32_t TcpLayer::owned_from(uint32_t at, uint32_t rest) const {
  const FlowPlacement& fp = *cfg_.placement;
  const uint32_t span = uint32_t(pool_ports_.size());
  for (size_t hops = 0; hops < group_start_.size(); ++hops) {
    const uint32_t g = pool_group_[at];
    if (fp.owner_of_hash(rest ^ g) == cfg_.core) return at;
    const uint32_t next = group_start_[g + 1];
    at = next == span ? 0 : next;
  }
  return at;  // no group is ours: pick_port() finds no port either
}

tcp::FourTuple TcpLayer::next_connect_candidate(wire::Ipv4Addr remote, uint16_t port,
                                                uint32_t k) const {
  return connect_candidate(k, remote, port);
}

void TcpLayer::prefetch_connects(wire::Ipv4Addr remote, uint16_t remote_port) {
  // Connects in a stream take ports in turn, and the port each comes to
  // holds, nearly always, the TIME-WAIT of a connection opened one port
  // range ago: its flow-table slot, its connection and its timer are cold,
  // and take_port() would wait for each in turn. So each connect fetches for
  // the ones after it: the slot of the second next, and for the next (whose
  // slot the connect before fetched, so the lookup is cheap now) what that
  // slot leads to. A hint only: a connect elsewhere meanwhile, or a port not
  // free, leaves a line fetched for nothing.
  const uint32_t id = table_.find(connect_candidate(0, remote, remote_port));
  if (id != FlowTable::kNone && !is_half_open(id)) {
    const Slot& s = slots_[id];
    __builtin_prefetch(&s);
    if (s.conn) {
      const auto* bytes = reinterpret_cast<const char*>(s.conn);
      for (size_t off = 0; off < sizeof(tcp::Connection); off += util::kCacheLine)
        __builtin_prefetch(bytes + off);
    }
    timers_.prefetch(id);
  }
  table_.prefetch(connect_candidate(1, remote, remote_port));
}

tcp::Connection* TcpLayer::connect(wire::Ipv4Addr remote, uint16_t port, tcp::Events* events,
                                   uint64_t now, const tcp::TcpConfig* cfg) {
  now_ = now;
  // No slot (and no TIME-WAIT to take one from): refused before a port is
  // taken, so the next connect gets the port this one would have had.
  // (new_slot() ends the TIME-WAIT, once nothing else can fail.)
  if (!slot_obtainable()) {
    ++ctr_.tcp_conn_limit;
    return nullptr;
  }
  // Our source addresses in turn (a full one is skipped for the next).
  wire::Ipv4Addr src;
  uint16_t local = 0;
  bool flow_held = false;
  for (uint32_t tries = 0; tries < sources_ && !local; ++tries) {
    if (next_src_ >= sources_) next_src_ = 0;
    src = ip_.source_address(next_src_);
    local = pick_port(next_src_++, src, remote, port, flow_held);
  }
  if (!local) {
    ++ctr_.tcp_conn_limit;
    return nullptr;
  }
  const tcp::FourTuple t{src, remote, local, port};
  const tcp::TcpConfig* shared = cfg ? intern(*cfg) : &cfg_.tcp;
  if (!shared) {
    if (flow_held) table_.erase(t);  // the reused TIME-WAIT's entry, kept for nothing
    ++ctr_.tcp_conn_limit;
    return nullptr;
  }
  const uint32_t id = new_slot(t, shared, events, flow_held);
  if (id == FlowTable::kNone) return nullptr;
  tcp::Connection* c = slots_[id].conn;
  const tcp::PathHint h = open_path(slots_[id], cfg != nullptr, now);
  const tcp::IsnGenerator::Numbers n = isn_.numbers(t, now);
  const bool fast_open = c->config().fast_open && !h.fastopen_blocked;
  // (A blocked path dropped SYNs with data lately: a plain SYN, counted.)
  if (c->config().fast_open && h.fastopen_blocked) ++ctr_.tcp_fastopen_blocked;
  const tcp::FastOpenClient fo{h.fastopen, h.fastopen_mss};
  c->connect(n.isn, n.ts_offset, now, fast_open ? &fo : nullptr);
  prefetch_connects(remote, port);
  return c;
}

void TcpLayer::input(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg, uint64_t now) {
  now_ = now;
  const tcp::FourTuple t{ip.dst, ip.src, seg.dst_port, seg.src_port};
  if (seg.seg_size) [[unlikely]] {
    // The peer's TSO frame, passed on whole: counted as the segments it is
    // (counted here, before its connection is known; the rare frame for no
    // connection counts its extra segments all the same).
    const uint32_t more = uint32_t((seg.payload.size() - 1) / seg.seg_size);
    ctr_.tcp_segs_in += more;
    ctr_.tcp_segs_coalesced += more;
  }
  if (gro_.held()) {
    if (gro_.append(t, seg)) {
      ++ctr_.tcp_segs_in;
      ++ctr_.tcp_segs_coalesced;
      return;
    }
    deliver_coalesced();  // first: nothing overtakes the run
  }
  dispatch(ip, seg, t, gro_.enabled());
}

inline void TcpLayer::dispatch(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg,
                               const tcp::FourTuple& t, bool may_hold) {
  const uint64_t now = now_;
  uint32_t id = table_.find(t);
  if (id == FlowTable::kNone || is_half_open(id)) new_flows_ = true;
  if (id != FlowTable::kNone && is_half_open(id)) {
    half_open_input(id - cfg_.max_connections, ip, seg);
    return;
  }
  // (A bare SYN only: every other segment skips the call and its copy of the header.)
  if (id != FlowTable::kNone && (seg.flags & (syn | ack | rst)) == syn &&
      slots_[id].conn->accepts_new_syn(tcp::SegmentIn::from(seg))) {
    // A newer SYN for a 4-tuple in TIME-WAIT starts a new connection now
    // (RFC 6191), instead of waiting out 2 MSL.
    slots_[id].conn->abandon();
    release(id);
    ++ctr_.tcp_time_wait_reused;
    id = FlowTable::kNone;
  }
  if (id != FlowTable::kNone) {
    Slot& s = slots_[id];
    // Ensemble sharing: the window is published at a bounded rate, before
    // the segment (a SYN-ACK then finds the share already settled).
    if (publish_windows_ && s.in_cache && now >= s.next_publish) publish_window(s, now);
    // Receive coalescing: only data the connection takes in order now, so a
    // run never hides duplicate ACKs that out-of-order data calls for.
    if (may_hold && Coalescer::can_start(seg) && s.conn->in_order_at(seg.seq)) {
      gro_.hold(ip, t, id, s.generation, seg);  // delivered when the run ends
      return;
    }
    s.conn->input(tcp::SegmentIn::from(seg), now);
    return;
  }
  Listener* l = find_listener(seg.dst_port);
  if (!l && tap_ && tap_->on_stray(ip, seg, now)) return;
  if (!l) {
    // RFC 9293 3.10.7.1: CLOSED answers everything but a reset with a reset.
    if (!(seg.flags & rst)) reset_for(ip, seg);
    ++ctr_.tcp_no_listener;
    return;
  }
  if (l->stateless) return stateless_input(*l, ip, seg, t);
  listen_input(*l, ip, seg, t);
}

void TcpLayer::reset_for(const wire::Ipv4Repr& ip, const wire::TcpRepr& seg) {
  // RFC 9293 3.10.7.1: with an ACK, <SEQ=SEG.ACK><CTL=RST>; without,
  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  wire::TcpRepr r;
  r.src_port = seg.dst_port;
  r.dst_port = seg.src_port;
  if (seg.flags & ack) {
    r.seq = seg.ack;
    r.flags = rst;
  } else {
    const uint32_t len = uint32_t(seg.payload.size()) + ((seg.flags & syn) ? 1 : 0) +
                         ((seg.flags & fin) ? 1 : 0);
    r.seq = 0;
    r.ack = seg.seq + len;
    r.flags = rst | ack;
  }
  if (ip_.send_tcp(ip.dst, ip.src, r, {}, now_)) {
    ++ctr_.tcp_rst_out;
    ++ctr_.tcp_segs_out;
  }
}

bool TcpLayer::emit(const tcp::Connection& c, const tcp::SegmentOut& s,
                    const tcp::Payload& payload) {
  return ip_.send_tcp(c.tuple().local_ip, c.tuple().remote_ip, s, payload, now_);
}

tcp::PathHint TcpLayer::open_path(Slot& s, bool overridden, uint64_t now) {
  if (!paths_) return {};
  tcp::Connection& c = *s.conn;
  s.in_cache = true;
  s.overridden = overridden;
  const tcp::PathHint h =
      paths_->open(c.tuple().local_ip, c.tuple().remote_ip, now, c.smss(), c.initial_window());
  c.apply_hint(h);
  // A host that has abused us lately gets a quarter of the buffers while
  // memory is short (never otherwise: docs/defences.md).
  s.abusive = h.abuse >= tcp::PathHint::kAbusive;
  if (s.abusive && pressured_) {
    const tcp::TcpConfig& cfg = c.config();
    c.limit_buffers(std::max<uint32_t>(cfg.sndbuf / 4, 8192), std::max<uint32_t>(cfg.rcvbuf / 4, 8192));
    ++ctr_.tcp_abusive_limited;
  }
  s.published = h.ensemble_share ? h.ensemble_share
                : h.initial_cwnd   ? std::max(h.initial_cwnd, 2 * c.smss())
                                   : c.initial_window();
  s.joins_seen = h.ensemble_joins;
  return h;
}

void TcpLayer::report_path(Slot& s) {
  if (!s.in_cache || !paths_) return;
  s.in_cache = false;
  tcp::PathReport r = s.conn->report(now_);
  r.reclaims = s.reclaimed ? 1 : 0;
  // The ensemble counts the connection at the window it last published.
  if (publish_windows_) r.cwnd = s.published;
  paths_->close(s.conn->tuple().local_ip, s.conn->tuple().remote_ip, r, s.overridden, now_);
}

void TcpLayer::publish_window(Slot& s, uint64_t now) {
  tcp::Connection& c = *s.conn;
  // The window it can use: no more than the peer lets it have outstanding.
  const uint32_t cwnd =
      c.was_established() ? std::min(c.cwnd(), std::max(c.snd_wnd(), 2 * c.smss())) : s.published;
  const uint32_t cap = paths_->publish(c.tuple().local_ip, c.tuple().remote_ip,
                                       int64_t(cwnd) - int64_t(s.published), cwnd, s.joins_seen);
  s.published = cwnd;
  if (cap && cap < cwnd) {
    c.cap_window(cap, now);
    // What it gave up the cache has already taken off the ensemble's total.
    s.published = cap;
  }
  s.next_publish = now + std::max<uint64_t>(kPublishNs, c.rtt().srtt() / 4);
}

void TcpLayer::on_schedule(tcp::Connection& c) {
  const uint32_t id = c.tag();
  Slot& s = slots_[id];
  if (s.fastopen_listener && c.state() != tcp::State::syn_received) fastopen_settled(s);
  // Rare (a connection's first SYN-ACK, or a fallback): nothing is built otherwise.
  if (paths_ && c.has_fastopen_news()) {
    tcp::FastOpenNews news;
    c.take_fastopen_news(news);
    paths_->fastopen(c.tuple().local_ip, c.tuple().remote_ip, news, now_);
  }
  // The path cache learns when the connection is done with its data (TIME-WAIT
  // or closed), not when its slot is reclaimed minutes later.
  if (s.in_cache && (c.state() == tcp::State::time_wait || c.state() == tcp::State::closed))
    report_path(s);
  if (c.state() == tcp::State::time_wait && !s.time_wait_noted) {
    s.time_wait_noted = true;
    note_time_wait(id);
  }
  if (c.finished()) {
    if (!s.reaping) {
      s.reaping = true;
      reap_.push_back({id, s.generation});
    }
    return;
  }
  // Armed lazily: a wheel entry moves only to an earlier time. One that is
  // later than needed, or no longer needed, fires and finds nothing due, and
  // poll() arms it again for the connection's deadline then. A connection's
  // deadline moves later on nearly every segment (the retransmission timer
  // restarts with each one sent and stops when all is acknowledged), so this
  // saves a wheel unlink and link per segment for a spurious firing per
  // retransmission timeout at most.
  uint64_t d = c.next_deadline();
  if (d != UINT64_MAX) {
    // A deadline already past is served at the next poll, never in this one:
    // a timer that could not do its work (no buffer) must not spin.
    if (d <= now_) d = now_ + 1000;
    if (!timers_.armed(id) || d < timers_.at(id)) timers_.schedule(id, d, now_);
  }
  c.set_timer_armed(timers_.armed(id) ? timers_.at(id) : UINT64_MAX);
}

void TcpLayer::on_ack_deferred(tcp::Connection& c) {
  burst_acks_.push_back({c.tag(), slots_[c.tag()].generation});
}

void TcpLayer::deliver_coalesced() {
  uint32_t id = 0, gen = 0;
  const wire::Ipv4Repr* ip = nullptr;
  const wire::TcpRepr& seg = gro_.take(ip, id, gen);
  Slot& s = slots_[id];
  if (s.conn && s.generation == gen) {
    s.conn->input(tcp::SegmentIn::from(seg), now_);
    return;
  }
  // An application (a UDP receiver's, say) closed the connection between
  // two segments of the burst: the run goes where any segment of its flow
  // now goes (never held again, so its buffer stays as it is).
  dispatch(*ip, seg, {ip->dst, ip->src, seg.dst_port, seg.src_port}, false);
}

void TcpLayer::end_of_burst(uint64_t now) {
  now_ = now;
  if (gro_.held()) deliver_coalesced();
  new_flows_last_ = new_flows_;
  new_flows_ = false;
  // Indexes, not iterators: an ACK sent here may wake the application, which
  // may open connections (but cannot defer another ACK until the next burst).
  for (size_t i = 0; i < burst_acks_.size(); ++i) {
    const auto [id, gen] = burst_acks_[i];
    Slot& s = slots_[id];
    if (s.conn && s.generation == gen) s.conn->end_of_burst(now);
  }
  burst_acks_.clear();
}

void TcpLayer::poll(uint64_t now) {
  now_ = now;
  retired_.clear();  // no call holds an unlistened listener any more
  if (paths_ && now >= next_path_tick_) next_path_tick_ = paths_->tick(now);
  if (now >= next_reclaim_check_) {
    next_reclaim_check_ = now + kReclaimCheckNs;
    reclaim_under_pressure(now);
    flush_cookie_failures();
  }
  timers_.advance(now, [&](uint32_t id) {
    if (is_half_open(id)) {
      half_open_timer(id - cfg_.max_connections);
      return;
    }
    Slot& s = slots_[id];
    if (!s.conn) return;
    tcp::Connection& c = *s.conn;
    c.set_timer_armed(UINT64_MAX);  // this call was it
    if (c.next_deadline() <= now) {
      c.on_timer(now);  // re-arms itself through on_schedule()
    } else {
      on_schedule(c);  // beyond the wheel's horizon: armed again
    }
  });
  reap();
}

void TcpLayer::reap() {
  // A slot released early (a TIME-WAIT replaced by a new SYN) may already
  // serve another connection: the generation tells.
  for (auto [id, gen] : reap_)
    if (slots_[id].generation == gen) release(id);
  reap_.clear();
}

uint64_t TcpLayer::next_deadline() const {
  if (!reap_.empty()) return 0;
  return timers_.next_deadline();
}

void TcpLayer::note_cookie_failure(const tcp::FourTuple& t) {
  if (!paths_) return;
  uint64_t h = (uint64_t(t.local_ip.v) << 32 | t.remote_ip.v) * 0x9e3779b97f4a7c15ull;
  CookieFailures& f = cookie_failures_[(h >> 32) % cookie_failures_.size()];
  if (f.n && (f.local != t.local_ip || f.remote != t.remote_ip)) {
    paths_->note_cookie_failures(f.local, f.remote, f.n);
    f.n = 0;
  }
  f.local = t.local_ip;
  f.remote = t.remote_ip;
  ++f.n;
}

void TcpLayer::flush_cookie_failures() {
  if (!paths_) return;
  for (CookieFailures& f : cookie_failures_)
    if (f.n) {
      paths_->note_cookie_failures(f.local, f.remote, f.n);
      f.n = 0;
    }
}

void TcpLayer::reclaim_under_pressure(uint64_t now) {
  const bool persist_on = cfg_.persist_reclaim_ns > 0, stall_on = cfg_.stall_reclaim_ns > 0;
  if (!persist_on && !stall_on) return;
  const uint64_t refused = ctr_.tcp_buffer_refused + ctr_.tcp_conn_limit;
  const bool refusals = refused != refused_seen_;
  refused_seen_ = refused;
  size_t conns = connections();
  size_t memory = buffers_.in_use_bytes();
  const size_t budget = cfg_.buffer_memory;
  auto high = [&] {
    return conns * 10 >= size_t(cfg_.max_connections) * 9 || (budget && memory * 10 >= budget * 9);
  };
  auto low = [&] {
    return conns * 10 < size_t(cfg_.max_connections) * 8 && (!budget || memory * 10 < budget * 8);
  };
  // Pressure begins at 90% (or with a refusal) and lasts until both are back
  // below 80%.
  if (high()) pressured_ = true;
  if (pressured_ && low()) pressured_ = false;
  if (!refusals && !pressured_) return;
  struct Candidate {
    uint32_t id;
    bool abusive;
    uint8_t reason;  // 0 held back by the window, 1 stalled
    uint64_t for_ns;
    size_t memory;
  };
  std::vector<Candidate> c;
  for (uint32_t id = 0; id < slots_.size(); ++id) {
    const tcp::Connection* conn = slots_[id].conn;
    if (!conn || conn->state() == tcp::State::closed) continue;
    const uint64_t held = conn->held_back_for(now);
    if (persist_on && held >= cfg_.persist_reclaim_ns &&
        conn->acked_while_held() * 1'000'000'000 < uint64_t(conn->smss()) * held) {
      c.push_back({id, slots_[id].abusive, 0, held, conn->memory()});
      continue;
    }
    const uint64_t stalled = conn->stalled_for(now);
    if (stall_on && stalled >= cfg_.stall_reclaim_ns)
      c.push_back({id, slots_[id].abusive, 1, stalled, conn->memory()});
  }
  // Abusive hosts' first, then held back by the window before stalled; the
  // longest-held and the largest first.
  std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
    if (a.abusive != b.abusive) return a.abusive;
    if (a.reason != b.reason) return a.reason < b.reason;
    if (a.for_ns != b.for_ns) return a.for_ns > b.for_ns;
    return a.memory > b.memory;
  });
  // Until both are back below 80%; after a refusal alone, a few at least.
  constexpr size_t kAfterRefusal = 16;
  size_t done = 0;
  for (const Candidate& x : c) {
    if (low() && (!refusals || done >= kAfterRefusal)) break;
    tcp::Connection& conn = *slots_[x.id].conn;
    ++(x.reason == 0 ? ctr_.tcp_reclaim_persist : ctr_.tcp_reclaim_stall);
    memory -= std::min(memory, conn.ring_storage());
    --conns;
    ++done;
    slots_[x.id].reclaimed = true;
    conn.reclaim();
  }
}

}  // namespace ts::stack
