#!/usr/bin/env python3
"""The other port kinds against real peers:
  - tap:NAME: touchstone creates a TAP interface; the Linux kernel in the same
    (private) namespace pings through it; then curl downloads from serve --app
    http through it, with the TAP port's segmentation offload (DPDK's GSO
    library cuts touchstone's frames) and with --no-tso;
  - memif:SOCKET: touchstone serve (server role) and touchstone gen (client role)
    in two processes on two cores, joined by shared memory.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402
from netns import Checks, parse_counters, run  # noqa: E402


def wait_for(log, text, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if text in open(log).read():
            return True
        time.sleep(0.1)
    return False


def tap_tcp(args, checks, tmp, ns, tap, tso, procs):
    """curl downloads 3 x 16 MB from serve --app http over the TAP port; with TSO the
    frames are cut by the port, each segment checksummed and within the MTU."""
    what = "TSO" if tso else "--no-tso"
    log = os.path.join(tmp, "tap-http-%s.log" % ("tso" if tso else "notso"))
    x = lambda cmd, **kw: run(["ip", "netns", "exec", ns] + cmd, **kw)
    size = 16 << 20
    p = subprocess.Popen(["ip", "netns", "exec", ns, args.touchstone, "serve", "--port", "tap:" + tap,
                          "--ip", "10.78.0.2/24", "--app", "http", "--http-size", str(size),
                          "--progress", "0", "--duration", "60s"] + ([] if tso else ["--no-tso"]),
                         stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    ok = wait_for(log, "Ctrl-C to stop")
    checks.check(ok, "serve --app http --port tap (%s) starts" % what, open(log).read()[-800:])
    if not ok:
        return
    x(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % tap], check=False)
    x(["ip", "addr", "add", "10.78.0.1/24", "dev", tap])
    x(["ip", "link", "set", tap, "up"])
    x(["nstat", "-n"])  # from here on, nstat reports what the downloads brought
    sizes = []
    for _ in range(3):
        r = x(["curl", "-s", "-m", "20", "-o", os.path.join(tmp, "body"), "-w", "%{size_download}",
               "http://10.78.0.2/"], check=False)
        sizes.append(r.stdout.strip())
    st = x(["nstat", "-az", "TcpInSegs", "TcpInCsumErrors", "TcpInErrs"], check=False).stdout
    kernel = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)", st, re.M)}
    p.terminate()
    p.wait(timeout=15)
    out = open(log).read()
    c = parse_counters(out)
    port_line = next((l for l in out.splitlines() if "(net_tap)" in l), "")
    checks.check(sizes == [str(size)] * 3,
                 "curl downloads 3 x %d bytes from serve over tap (%s)" % (size, what), str(sizes))
    checks.check(kernel.get("TcpInCsumErrors", -1) == 0 and kernel.get("TcpInErrs", -1) == 0,
                 "Linux finds no bad TCP checksum in them (%s)" % what, st)
    if tso:
        checks.check(port_line.endswith(" tso") and c.get("tcp_segs_offloaded", 0) > size // 1448,
                     "serve sends most of it in TSO frames the TAP port cuts", str(c))
        # Each segment the port cut reached Linux as one: it counted at least as
        # many TCP segments as serve's TCP says it sent data in (plus handshakes).
        checks.check(kernel.get("TcpInSegs", 0) >= c.get("tcp_data_segs_out", 1 << 60),
                     "Linux received every segment cut from the frames (TcpInSegs %d, data segments %d)"
                     % (kernel.get("TcpInSegs", 0), c.get("tcp_data_segs_out", 0)), st)
        checks.check(c.get("port_tx_packets", 1 << 60) * 2 < c.get("tcp_data_segs_out", 0),
                     "the port sent fewer than half as many frames as segments", str(c))
    else:
        checks.check(port_line != "" and not port_line.endswith(" tso") and c.get("tcp_segs_offloaded", 0) == 0,
                     "--no-tso: no TSO frames, and the port makes no pool for them", str(c))
    checks.check(c.get("tcp_retransmits", 0) == 0, "no retransmission (%s)" % what, str(c))
    # Every handover a write to the kernel: the port batches 32 (docs/performance.md).
    checks.check(" tx batch 32 " in port_line and c.get("port_tx_bursts", 0) > 0,
                 "the TAP port hands frames over up to 32 at a time (%s)" % what, port_line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchstone", required=True)
    args = ap.parse_args()
    netns.require_environment(("ip", "ping", "curl", "nstat"))
    checks = Checks()
    tmp = tempfile.mkdtemp(prefix="ts-ports-")
    ns = "tsport%d" % os.getpid()
    tap = "tstap%d" % (os.getpid() % 100000)
    procs = []
    try:
        # --- tap ---
        run(["ip", "netns", "del", ns], check=False)
        run(["ip", "netns", "add", ns])
        log = os.path.join(tmp, "tap.log")
        p = subprocess.Popen(["ip", "netns", "exec", ns, args.touchstone, "serve", "--port",
                              "tap:" + tap, "--ip", "10.78.0.2/24", "--progress", "0", "--duration", "60s"],
                             stdout=open(log, "w"), stderr=subprocess.STDOUT,
                             start_new_session=True)
        procs.append(p)
        ok = wait_for(log, "answering")
        checks.check(ok, "serve --port tap:%s starts and creates the interface" % tap,
                     open(log).read()[-800:])
        if ok:
            x = lambda cmd, **kw: run(["ip", "netns", "exec", ns] + cmd, **kw)
            x(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % tap], check=False)
            x(["ip", "addr", "add", "10.78.0.1/24", "dev", tap])
            x(["ip", "link", "set", tap, "up"])
            r = x(["ping", "-c", "500", "-i", "0.002", "-W", "2", "-q", "10.78.0.2"], check=False)
            checks.check("500 packets transmitted, 500 received" in r.stdout,
                         "Linux pings touchstone through the TAP interface: no loss", r.stdout)
        p.terminate()
        p.wait(timeout=15)
        counters = parse_counters(open(log).read())
        checks.check(counters.get("icmp_echo_replies_out", 0) >= 500,
                     "serve on tap counted its echo replies", str(counters))

        # --- tap: TCP segmentation offload, and without it ---
        for tso in (True, False):
            tap_tcp(args, checks, tmp, ns, tap, tso, procs)

        # --- memif: two touchstone processes ---
        sock = os.path.join(tmp, "memif.sock")
        slog = os.path.join(tmp, "memif-serve.log")
        s = subprocess.Popen([args.touchstone, "serve", "--port", "memif:" + sock, "--ip",
                              "10.79.0.1/24", "--progress", "0", "--duration", "60s"],
                             stdout=open(slog, "w"), stderr=subprocess.STDOUT,
                             start_new_session=True)
        procs.append(s)
        checks.check(wait_for(slog, "answering"), "serve --port memif:SOCKET starts (server role)",
                     open(slog).read()[-800:])
        jpath = os.path.join(tmp, "gen.json")
        # The other CPU than serve's default (the last one), so the two pollers
        # do not share a core.
        r = run(["timeout", "60", args.touchstone, "gen", "--mode", "ping", "--port", "memif:%s,role=client" % sock,
                 "--ip", "10.79.0.2/24", "--target", "10.79.0.1", "--requests", "100000",
                 "--conns", "8", "--quiet", "--lcores", "0-0", "--json", jpath], check=False)
        g = json.load(open(jpath)) if os.path.exists(jpath) else {}
        checks.check(r.returncode == 0 and g.get("responses_ok") == 100000 and g.get("lost") == 0,
                     "gen (memif client) -> serve (memif server): 100000 of 100000 replies",
                     r.stdout[-1500:])
        s.terminate()
        s.wait(timeout=15)
        # memif's peer polls shared memory: frames go over 8 at a time.
        line = next((l for l in open(slog).read().splitlines() if "(net_memif)" in l), "")
        checks.check(" tx batch 8 " in line, "the memif port hands frames over 8 at a time", line)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        run(["ip", "netns", "del", ns], check=False)
    checks.finish()


if __name__ == "__main__":
    main()
