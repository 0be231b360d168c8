// TCP's counters, per core: what the connections did and every reason a
// segment was dropped or refused. The connection increments them; the stack
// reports them with its own.
#pragma once

#include <cstdint>

namespace ts::tcp {

// X(name, is_drop, description)
#define TS_TCP_COUNTERS(X)                                                                       \
  X(tcp_segs_in, false, "TCP segments received for connections")                                 \
  X(tcp_segs_in_predicted, false, "of those, in-order ACKs of established connections taken by header prediction (docs/performance.md)") \
  X(tcp_segs_coalesced, false, "of the segments received, those merged into the one before them (receive coalescing, or a TSO frame)") \
  X(tcp_segs_out, false, "TCP segments sent")                                                    \
  X(tcp_data_segs_out, false, "TCP segments sent carrying data")                                 \
  X(tcp_segs_out_whole, false, "of those, segments that took all queued data by the one-segment path (docs/performance.md)") \
  X(tcp_segs_offloaded, false, "of the segments sent, those cut from a TSO frame (by the device, or tx_tso_cut)") \
  X(tcp_retransmits, false, "TCP segments retransmitted")                                        \
  X(tcp_rto_timeouts, false, "retransmission timeouts")                                          \
  X(tcp_fast_recoveries, false, "fast recoveries entered (SACK or NewReno)")                     \
  X(tcp_lost_retransmits, false, "retransmissions found lost during SACK recovery (resent)")     \
  X(tcp_sack_reneging, false, "receivers found to have discarded data they had SACKed")          \
  X(tcp_dup_acks, false, "duplicate ACKs received")                                              \
  X(tcp_ooo_segments, false, "segments received out of order (kept)")                            \
  X(tcp_ooo_dropped, true, "data dropped: reassembly ranges full or no buffer memory")           \
  X(tcp_buffer_refused, true, "ring buffers refused: the buffer memory budget is spent")        \
  X(tcp_bad_seq, true, "segments outside the receive window (answered with an ACK)")              \
  X(tcp_paws_drops, true, "segments rejected by PAWS (RFC 7323)")                                \
  X(tcp_bad_ack, true, "segments acknowledging data never sent (RFC 5961 5.2)")                  \
  X(tcp_challenge_acks, false, "challenge ACKs sent (RFC 5961)")                                 \
  X(tcp_challenge_acks_limited, true, "challenge ACKs suppressed by the rate limit")             \
  X(tcp_oow_acks_limited, true, "ACKs to out-of-window bare ACKs suppressed (one per 500 ms)")  \
  X(tcp_rst_in, false, "resets accepted")                                                        \
  X(tcp_rst_out, false, "resets sent")                                                           \
  X(tcp_data_after_close, true, "data received after the application closed (discarded)")        \
  X(tcp_no_ack_flag, true, "segments without ACK in a synchronized state")                       \
  X(tcp_window_probes, false, "zero-window probes sent")                                         \
  X(tcp_send_bytes_copied, false, "bytes the application queued by copy into send rings")       \
  X(tcp_send_bytes_referenced, false, "bytes queued by reference (zero-copy: files, generated bodies)") \
  X(tcp_recv_bytes_copied, false, "received bytes copied into receive rings (out of order, or left unread; the rest is read where it arrived)") \
  X(tcp_zero_window_seen, false, "times the peer closed its window to zero")                     \
  X(tcp_zero_window_sent, false, "segments sent advertising a zero window (our buffer full)")   \
  X(tcp_keepalive_probes, false, "keepalive probes sent")                                        \
  X(tcp_emit_failed, true, "segments not sent: no packet buffer")                                \
  X(tcp_no_listener, true, "segments for a port nobody listens on (answered with a reset)")     \
  X(tcp_backlog_full, true, "SYNs beyond the listener's backlog or the half-open table (answered with a cookie, or dropped)") \
  X(tcp_half_open_expired, true, "handshakes given up: the SYN-ACK went unanswered")               \
  X(tcp_reclaim_persist, true, "connections reclaimed under pressure: held back by the peer's window") \
  X(tcp_reclaim_stall, true, "connections reclaimed under pressure: the peer made no progress")     \
  X(tcp_abusive_limited, false, "connections from an abusive host given smaller buffers under pressure") \
  X(tcp_syncookie_sent, false, "SYN-ACKs carrying a SYN cookie (no state kept)")                   \
  X(tcp_syncookie_valid, false, "connections made from a valid SYN cookie")                        \
  X(tcp_syncookie_stale, true, "ACKs with a SYN cookie too old (over two periods)")                \
  X(tcp_syncookie_forged, true, "ACKs to a listener whose cookie did not check (forged or stray)")  \
  X(tcp_fastopen_accepted, false, "Fast Open SYNs whose data went to the application at once")       \
  X(tcp_fastopen_cookies_sent, false, "SYN-ACKs carrying a new Fast Open cookie")                  \
  X(tcp_fastopen_cookie_invalid, true, "Fast Open SYNs with a cookie that did not check (data not taken)") \
  X(tcp_fastopen_pending_full, true, "Fast Open SYNs beyond the listener's pending limit (data not taken)") \
  X(tcp_fastopen_syncookie_wait, false, "Fast Open SYNs answered with a SYN cookie (their data waits for the handshake)") \
  X(tcp_fastopen_replayed, true, "Fast Open SYN data seen before (the replay guard did not take it again)") \
  X(tcp_fastopen_cookie_requests, false, "SYNs asking a server for a Fast Open cookie")            \
  X(tcp_fastopen_syn_data, false, "SYNs sent with data and a Fast Open cookie")                    \
  X(tcp_fastopen_syn_data_acked, false, "SYN-ACKs that acknowledged our SYN's data")               \
  X(tcp_fastopen_syn_data_unacked, false, "SYN-ACKs that left our SYN's data unacknowledged (sent again)") \
  X(tcp_fastopen_syn_data_timeout, false, "SYNs with data unanswered (sent again without; the server marked)") \
  X(tcp_fastopen_blocked, false, "connects without Fast Open: the server is marked as dropping it") \
  X(tcp_stateless_syn_acks, false, "SYN-ACKs of stateless listeners (SYN cookies, no state)")      \
  X(tcp_stateless_requests, false, "requests a stateless listener took whole from one segment")     \
  X(tcp_stateless_answers, false, "stateless answers sent (the last segment with ACK and FIN)")     \
  X(tcp_stateless_late_acks, false, "stateless requests acknowledged alone (the answer was slow)")  \
  X(tcp_stateless_fin_acks, false, "client FINs a stateless listener acknowledged")                 \
  X(tcp_stateless_acks, false, "bare ACKs to a stateless listener (handshakes, answers acknowledged)") \
  X(tcp_stateless_fallback, false, "stateless requests handed to the ordinary TCP path (--fallback stateful)") \
  X(tcp_stateless_unfit, true, "stateless requests that did not fit (split, window too small) reset") \
  X(tcp_stateless_holes, true, "SACKs of a stateless answer with bytes missing (reset: no state to resend)") \
  X(tcp_stateless_stray_data, true, "data to a stateless listener that is not a first request (reset)") \
  X(tcp_listen_dropped, true, "segments without SYN to a listening port (an ACK gets a reset)") \
  X(tcp_time_wait_reused, false, "TIME-WAIT connections replaced by a newer SYN (RFC 6191) or our own connect")  \
  X(tcp_time_wait_recycled, false, "TIME-WAIT connections ended early (oldest first) to give a new connection their slot: every slot was taken")  \
  X(tcp_refused, true, "connections the application refused (answered with a reset)")         \
  X(tcp_conn_limit, true, "connections refused: no free slot or local port")                    \
  X(tcp_conn_established, false, "connections established")                                      \
  X(tcp_conn_closed, false, "connections closed normally")                                       \
  X(tcp_conn_reset, false, "connections reset by the peer or refused")                           \
  X(tcp_conn_timeout, false, "connections given up after retransmissions or keepalives")         \
  X(tcp_conn_aborted, false, "connections aborted by the application")

struct TcpCounters {
#define TS_X(name, drop, desc) uint64_t name = 0;
  TS_TCP_COUNTERS(TS_X)
#undef TS_X
};

}  // namespace ts::tcp
