#!/usr/bin/env python3
"""Runs inside the Linux peer's namespace (via `ip netns exec`) for the interop
tests: byte-exact ICMP echo checks over a raw socket, sending the fixture
frames of tests/fixtures/frames.txt on the veth with the real MAC addresses,
TCP echo checks, connections held open unread, and repeated HTTP fetches."""
import argparse
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_frames import OUR_MAC as PLACEHOLDER_US  # noqa: E402
from make_frames import PEER_MAC as PLACEHOLDER_PEER  # noqa: E402
from make_frames import csum  # noqa: E402


def echo_check(args):
    """Sends echo requests with random identifiers, sequence numbers and
    payloads (0 to 1472 bytes) and checks every reply field by field."""
    rnd = random.Random(args.seed)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.5)
    bad = []
    answered = 0
    for i in range(args.count):
        ident, seq = rnd.randrange(65536), rnd.randrange(65536)
        payload = bytes(rnd.randrange(256) for _ in range(rnd.choice((0, 1, 17, 56, 1000, 1472))))
        msg = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
        msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
        s.sendto(msg, (args.target, 0))
        deadline = time.time() + 2
        while time.time() < deadline:
            try:
                pkt, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            ihl = (pkt[0] & 0x0F) * 4
            icmp = pkt[ihl:]
            if len(icmp) < 8 or icmp[0] != 0:
                continue
            r_ident, r_seq = struct.unpack("!HH", icmp[4:8])
            if (r_ident, r_seq) != (ident, seq):
                continue
            answered += 1
            problems = []
            if addr[0] != args.target:
                problems.append("source %s" % addr[0])
            if pkt[8] != 64:
                problems.append("ttl %d" % pkt[8])
            if csum(pkt[:ihl]) != 0:
                problems.append("IP checksum")
            if icmp[1] != 0:
                problems.append("code %d" % icmp[1])
            if csum(icmp) != 0:
                problems.append("ICMP checksum")
            if icmp[8:] != payload:
                problems.append("payload differs (%d vs %d bytes)" % (len(icmp) - 8, len(payload)))
            if problems:
                bad.append("request %d: %s" % (i, ", ".join(problems)))
            break
        else:
            bad.append("request %d (%d bytes): no reply" % (i, len(payload)))
    print(json.dumps({"sent": args.count, "answered": answered, "problems": bad[:20],
                      "problem_count": len(bad)}))
    return 0 if not bad else 1


def rewrite(frame, peer_mac, our_mac):
    f = bytearray(frame)
    for off in (0, 6):
        if f[off:off + 6] == PLACEHOLDER_US:
            f[off:off + 6] = our_mac
        elif f[off:off + 6] == PLACEHOLDER_PEER:
            f[off:off + 6] = peer_mac
    if len(f) >= 42 and f[12:14] == b"\x08\x06":  # ARP sender and target hardware addresses
        for off in (22, 32):
            if f[off:off + 6] == PLACEHOLDER_PEER:
                f[off:off + 6] = peer_mac
            elif f[off:off + 6] == PLACEHOLDER_US:
                f[off:off + 6] = our_mac
    return bytes(f)


def send_frames(args):
    peer_mac = bytes.fromhex(args.src_mac.replace(":", ""))
    our_mac = bytes.fromhex(args.dst_mac.replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.iface, 0))
    counts = {}
    unsendable = []
    with open(args.fixtures) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            name, counter, hexbytes = line.split()
            frame = rewrite(bytes.fromhex(hexbytes), peer_mac, our_mac)
            if len(frame) < 14:
                # Linux refuses to send a frame shorter than an Ethernet header
                # (EINVAL); the unit tests cover this fixture instead.
                unsendable.append(name)
                continue
            for _ in range(args.repeat):
                s.send(frame)
                counts[counter] = counts.get(counter, 0) + 1
            time.sleep(0.001)
    print(json.dumps({"counts": counts, "unsendable": unsendable}))
    return 0


def tcp_echo(args):
    """Sends random bytes to an echo server and checks that the same bytes come
    back; --slow reads in small pieces with pauses, so that the receive window
    closes and the server has to probe it."""
    data = random.Random(args.seed).randbytes(args.bytes)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if args.slow:  # before connect, so that the window scale stays small too
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect((args.target, args.port))
    got = bytearray()
    sent = 0
    s.setblocking(False)
    deadline = time.time() + args.timeout
    while len(got) < len(data) and time.time() < deadline:
        if sent < len(data):
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        try:
            chunk = s.recv(1024 if args.slow else 65536)
            if not chunk:
                break
            got += chunk
        except BlockingIOError:
            time.sleep(0.002 if args.slow else 0.0002)
        if args.slow:
            time.sleep(0.004)
    s.close()
    ok = bytes(got) == data
    first_bad = next((i for i in range(min(len(got), len(data))) if got[i] != data[i]), None)
    print(json.dumps({"sent": sent, "received": len(got), "identical": ok,
                      "first_difference": first_bad}))
    return 0 if ok else 1


def hold(args):
    """Opens --conns connections with a tiny receive buffer, sends --bytes on
    each to an echo server and never reads: the server's answers fill the
    windows and wait in its persist state. Holds them --seconds, then reports
    how many were still open and how many the server reset (JSON)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.conns + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    socks = []
    failed = 0
    for _ in range(args.conns):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.settimeout(5)
        try:
            s.connect((args.target, args.port))
        except OSError:
            failed += 1
            s.close()
            continue
        s.setblocking(False)
        socks.append([s, 0])
    payload = b"x" * args.bytes
    deadline = time.time() + args.seconds
    while time.time() < deadline:
        for entry in socks:
            s, sent = entry
            if s is None or sent >= len(payload):
                continue
            try:
                entry[1] += s.send(payload[sent:])
            except BlockingIOError:
                pass
            except OSError:
                entry[0] = None
        time.sleep(0.05)
    reset = 0
    for s, _ in socks:
        if s is None:
            reset += 1
            continue
        try:
            s.send(b"")
            s.getpeername()
            # A reset shows as an error on the next call that looks.
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                reset += 1
        except OSError:
            reset += 1
        s.close()
    print(json.dumps({"opened": len(socks), "connect_failed": failed, "reset": reset}))
    return 0


def fetch(args):
    """Fetches --url --count times, one after the other, each within --timeout
    seconds; prints how many answered 200 with the whole body (JSON)."""
    import urllib.request
    ok = 0
    for _ in range(args.count):
        try:
            with urllib.request.urlopen(args.url, timeout=args.timeout) as r:
                body = r.read()
                if r.status == 200 and len(body) == args.size:
                    ok += 1
        except Exception:  # noqa: BLE001 (any failure is a failed fetch)
            pass
    print(json.dumps({"ok": ok, "count": args.count}))
    return 0


def bulk_pattern_block():
    """gen --mode bulk's stream (lib/workload/server.cc fill_body_pattern): a
    64 KiB block repeated, lines of 64 characters."""
    block = bytearray(65536)
    for i in range(65536):
        col = i % 64
        block[i] = 10 if col == 63 else ord("a") + (i // 64 + col) % 26
    return bytes(block)


def bulk_sink(args):
    """Accepts --conns connections on --port, reads each to its end (or until
    --seconds pass), and checks every byte against gen's bulk pattern; prints
    one JSON line: bytes per connection and the first difference, if any."""
    block = bulk_pattern_block()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", args.port))
    ls.listen(16)
    ls.settimeout(args.seconds)
    deadline = time.time() + args.seconds
    result = {"connections": [], "intact": True}
    try:
        while len(result["connections"]) < args.conns and time.time() < deadline:
            c, _ = ls.accept()
            c.settimeout(max(deadline - time.time(), 0.1))
            got, bad, ended = 0, None, "timeout"
            try:
                while True:
                    chunk = c.recv(1 << 20)
                    if not chunk:
                        ended = "fin"
                        break
                    off = got % 65536
                    # Compare against the pattern from this offset, block by block.
                    i = 0
                    while i < len(chunk) and bad is None:
                        n = min(len(chunk) - i, 65536 - off)
                        if chunk[i:i + n] != block[off:off + n]:
                            bad = got + i + next(k for k in range(n) if chunk[i + k] != block[off + k])
                        i += n
                        off = 0
                    got += len(chunk)
            except ConnectionResetError:
                ended = "reset"
            except socket.timeout:
                pass
            c.close()
            result["connections"].append({"bytes": got, "first_difference": bad, "ended": ended})
            if bad is not None:
                result["intact"] = False
    except socket.timeout:
        pass
    print(json.dumps(result), flush=True)
    return 0 if result["intact"] else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo-check")
    e.add_argument("--target", required=True)
    e.add_argument("--count", type=int, default=100)
    e.add_argument("--seed", type=int, default=1)
    f = sub.add_parser("send-frames")
    f.add_argument("--iface", required=True)
    f.add_argument("--fixtures", required=True)
    f.add_argument("--src-mac", required=True)
    f.add_argument("--dst-mac", required=True)
    f.add_argument("--repeat", type=int, default=3)
    t = sub.add_parser("tcp-echo")
    t.add_argument("--target", required=True)
    t.add_argument("--port", type=int, default=7)
    t.add_argument("--bytes", type=int, default=1 << 20)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--slow", action="store_true")
    t.add_argument("--timeout", type=float, default=60)
    h = sub.add_parser("hold")
    h.add_argument("--target", required=True)
    h.add_argument("--port", type=int, default=7)
    h.add_argument("--conns", type=int, default=1000)
    h.add_argument("--bytes", type=int, default=65536)
    h.add_argument("--seconds", type=float, default=20)
    g = sub.add_parser("fetch")
    g.add_argument("--url", required=True)
    g.add_argument("--count", type=int, default=50)
    g.add_argument("--size", type=int, default=1024)
    g.add_argument("--timeout", type=float, default=1)
    b = sub.add_parser("bulk-sink")
    b.add_argument("--port", type=int, default=5001)
    b.add_argument("--conns", type=int, default=1)
    b.add_argument("--seconds", type=float, default=30)
    a = ap.parse_args()
    return {"echo-check": echo_check, "send-frames": send_frames, "tcp-echo": tcp_echo,
            "hold": hold, "fetch": fetch, "bulk-sink": bulk_sink}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
