// The stateless responders of `touchstone serve` (seed 003, docs/stateless.md):
// stateless-http answers an HTTP request that arrives in one segment with a
// generated body or a file; dns relays a DNS query over TCP (RFC 7766's
// two-byte length) to a UDP resolver and its answer back. Neither makes a
// connection for a client: the TCP layer completes the handshake with a SYN
// cookie and hands over the first data segment (tcp_layer.hh, StatelessApp).
// The relay's only state is a bounded table of queries in flight upstream.
//
// With `fallback`, what does not fit one segment (a request split in two, an
// answer larger than the client's window, a window of zero) becomes an
// ordinary connection: stateless-http's is served by the http Server, dns's
// by the relay itself (queries framed on the stream, answers written back).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "stack/stack.hh"
#include "util/rng.hh"
#include "workload/server.hh"

namespace ts::workload {

struct StatelessConfig {
  ServerApp app = ServerApp::stateless_http;  // or dns
  uint16_t port = 80;
  const FileIndex* files = nullptr;  // stateless-http: files, else a generated body
  uint64_t http_size = 1024;
  // stateless-http: each page fetched from this HTTP server over an ordinary
  // connection instead (the seed's design; port 0: none).
  wire::Ipv4Addr backend;
  uint16_t backend_port = 0;
  wire::Ipv4Addr upstream;           // dns: the UDP resolver
  uint16_t upstream_port = 53;
  uint32_t max_inflight = 4096;      // dns, backend: queries or fetches in flight (at most 65536)
  uint64_t upstream_timeout_ns = 2'000'000'000;  // dns, backend: then the client is reset
  bool fallback = false;             // --fallback stateful (else a reset)
  uint64_t seed = 1;                 // the upstream query IDs' order
};

struct StatelessStats {
  uint64_t requests = 0;        // requests taken (stateless or on fallback connections)
  uint64_t answers = 0;         // answers sent
  uint64_t http_2xx = 0, http_4xx = 0, http_5xx = 0;
  uint64_t unfit = 0;           // requests that were not whole (fallback or reset)
  uint64_t retransmits = 0;     // dns: requests again while their query was upstream
  uint64_t upstream_queries = 0, upstream_answers = 0;  // dns queries; backend fetches
  uint64_t upstream_resent = 0;    // queries sent again: unanswered for a while, or asked again
  uint64_t answers_resent = 0;     // kept answers sent again (not yet acknowledged)
  uint64_t answers_unacked = 0;    // kept answers given up unacknowledged
  uint64_t upstream_timeouts = 0;  // clients reset: the resolver or backend did not answer in time
  uint64_t backend_failed = 0;     // clients reset: the backend connection failed or its answer was unusable
  uint64_t table_full = 0;      // queries dropped: the in-flight table was full (the client retries)
  uint64_t truncated = 0;       // dns: the resolver's answer was truncated (TC): the client reset
  uint64_t foreign = 0;         // datagrams that answer no query in flight
  uint64_t fallback_conns = 0;  // connections of the ordinary path
  uint64_t bytes_in = 0, bytes_out = 0;
  void merge(const StatelessStats& o);
};

class StatelessServer final : public stack::StatelessApp,
                              public stack::UdpReceiver,
                              public stack::Acceptor,
                              public tcp::Events {
 public:
  StatelessServer(stack::Stack& stack, const StatelessConfig& cfg);
  ~StatelessServer() override;
  // Listens (and, for dns, binds the upstream UDP port); false if the port is taken.
  bool start();
  // Gives up on queries the resolver did not answer in time; every loop iteration.
  void tick(uint64_t now);
  StatelessStats stats() const;
  const StatelessConfig& config() const { return cfg_; }
  size_t in_flight() const { return cfg_.max_inflight - free_.size(); }
  uint16_t upstream_local_port() const { return udp_port_; }

  Verdict on_request(const stack::StatelessTxn& x, std::span<const uint8_t> request) override;
  bool on_ack(const tcp::FourTuple& t, uint32_t seq, uint32_t ack_no, bool fin) override;
  void on_datagram(const stack::Datagram& d, uint64_t now) override;
  // dns fallback connections (stateless-http's go to the http Server).
  tcp::Events* on_accept(const tcp::FourTuple& t) override;
  void on_readable(tcp::Connection& c) override;
  void on_peer_closed(tcp::Connection& c) override;
  void on_closed(tcp::Connection& c, tcp::CloseReason r) override;

 private:
  // Queries and framed answers up to this long are kept: a query to be sent
  // again when the resolver does not answer (UDP loses them), an answer to a
  // request acknowledged alone until the client acknowledges it (the client
  // will not ask again). Longer ones are sent once.
  static constexpr size_t kKept = 2 + 512 + 11;
  struct Entry {
    stack::StatelessTxn x;
    tcp::Connection* conn = nullptr;  // a fallback connection's query, else x's client
    uint64_t deadline = 0;            // given up then
    uint64_t resend_at = 0;           // the query or answer sent again then (UINT64_MAX: not kept)
    uint64_t backoff = 0;             // answers: the wait before the next resend
    uint32_t question_hash = 0;
    uint16_t client_id = 0;
    uint32_t kept_len = 0;
    bool used = false, acked = false;
    bool answered = false;            // the answer is kept, waiting for the client's ACK
    bool backend = false;             // conn is a backend fetch (the answer stays in its ring)
    bool head = false;                // the fetch is a HEAD (its answer has no body)
    bool added_opt = false;           // dns: the relay added the query's EDNS OPT
    std::array<uint8_t, kKept> kept;  // the query as sent upstream, or the framed answer
  };
  Verdict answer_http(const stack::StatelessTxn& x, std::span<const uint8_t> request);
  Verdict relay_dns(const stack::StatelessTxn& x, std::span<const uint8_t> request);
  // Sends `query` upstream for entry `e` (taking it from the free list); false
  // when no buffer was free.
  bool send_upstream(Entry& e, std::span<const uint8_t> query, uint64_t now);
  // The entry of a request sent again while its query or fetch is out
  // (acknowledged alone now, counted), or null.
  Entry* asked_again(const stack::StatelessTxn& x, uint64_t now);
  // Counts a new request; false (counted) when the table is full.
  bool take_request(size_t bytes);
  // Sends a kept query, or answer, again.
  void resend(Entry& e, uint64_t now);
  // The stateless client's answer arrived from the resolver: sent, and kept
  // when the request was acknowledged alone.
  void answer_client(uint32_t index, std::span<const uint8_t> framed, uint64_t now);
  // The kept answer: the entry's bytes, or the first kept_len bytes of its
  // backend connection's receive ring.
  tcp::Payload kept_answer(const Entry& e) const;
  // stateless-http --backend: a fetch per request (backend_events_ hears its connection).
  Verdict fetch(const stack::StatelessTxn& x, std::span<const uint8_t> request);
  void backend_progress(tcp::Connection& c, bool closed);
  void backend_closed(tcp::Connection& c);
  // Forgets entry `index`; a backend connection is closed (aborted: `abort`).
  void finish(uint32_t index, bool abort);
  struct BackendEvents final : tcp::Events {
    StatelessServer* s = nullptr;
    void on_readable(tcp::Connection& c) override { s->backend_progress(c, false); }
    void on_peer_closed(tcp::Connection& c) override { s->backend_progress(c, true); }
    void on_closed(tcp::Connection& c, tcp::CloseReason) override { s->backend_closed(c); }
  };
  uint32_t index_of_id(uint16_t id) const { return uint16_t(id ^ id_salt_); }
  // The direct-mapped index of (client, sequence number).
  uint32_t recent_slot(const tcp::FourTuple& t, uint32_t seq) const;
  // A quarter of the upstream timeout: three more tries before giving up.
  uint64_t resend_interval() const { return std::max<uint64_t>(cfg_.upstream_timeout_ns / 4, 1'000'000); }
  void release(uint32_t index);
  // Whether a fallback connection has queries upstream.
  bool pending_on(const tcp::Connection& c) const { return pending_by_tag_[c.tag()] != 0; }

  stack::Stack& stack_;
  stack::TcpLayer& tcp_;
  StatelessConfig cfg_;
  StatelessStats stats_;
  std::unique_ptr<Server> http_fallback_;  // stateless-http --fallback stateful
  std::vector<uint8_t> body_;              // stateless-http: the generated body
  OkHeads generated_heads_;                // and its 200 heads
  std::vector<uint8_t> scratch_;           // an upstream query or a framed answer
  std::vector<Entry> table_;
  std::vector<uint32_t> free_;
  // (client, request sequence) -> entry + 1: a request sent again while its
  // query is upstream is found here (direct-mapped: a collision only costs
  // a second query).
  std::vector<uint32_t> recent_;
  BackendEvents backend_events_;
  std::vector<uint32_t> by_conn_;  // backend connection tag -> entry + 1
  std::vector<uint32_t> pending_by_tag_;  // dns fallback connection tag -> queries upstream
  util::Rng rng_;                   // which free entry (and so upstream ID) a query takes
  uint16_t id_salt_ = 0;
  uint16_t udp_port_ = 0;
  uint64_t next_expiry_ = 0;
};

}  // namespace ts::workload
