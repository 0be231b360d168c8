#!/usr/bin/env python3
"""Interop: two polling cores on one veth port with one queue (issue 5).

af_xdp and af_packet on a veth offer one queue and no RSS, so with
--lcores 2 the core holding the queue hashes every TCP segment and passes
the other core's flows over a ring, and that core transmits through it.

  - `serve --app http --lcores 2`: curl downloads a 1 MB file intact many
    times over new connections, and wrk runs with 20 connections without
    errors; the counters show segments steered to the second core
    (steer_out = steer_in), its transmissions relayed (steer_tx_relayed),
    and no ring-full drops;
  - `gen --mode http --lcores 2` against nginx in the peer namespace: every
    request answered, nginx logs each one, and the second core's connections
    were steered to it (its local ports are chosen to hash to it).

  - (with af_xdp) `serve --port tap:NAME --lcores 2`: a TAP interface with a queue per
    core, where the kernel, not our hash, picks each flow's queue: six Linux clients get
    their bytes echoed intact, and what arrived on the wrong queue was steered.

Both cores poll, so the Linux peer gets CPU time only between polls: loads
are small and every step is bounded in time. Everything is removed at the
end, also on failure.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402
from netns import PEER_IP, TS_IP, Checks, Topology, parse_counters  # noqa: E402

PEER_TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_tools.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchstone", required=True)
    ap.add_argument("--driver", choices=("af_xdp", "af_packet"), default="af_xdp")
    args = ap.parse_args()
    netns.require_environment(("ip", "ethtool", "curl", "wrk", "nginx"))
    if os.cpu_count() < 2:
        netns.skip("two polling cores need two CPUs")
    checks = Checks()
    tmp = tempfile.mkdtemp(prefix="ts-mc-")
    os.chmod(tmp, 0o755)  # nginx's workers run as an unprivileged user
    try:
        run(args, checks, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


def run(args, checks, tmp):
    www = os.path.join(tmp, "www")
    os.makedirs(www, mode=0o755)
    body = os.urandom(1 << 20)
    with open(os.path.join(www, "1m.bin"), "wb") as f:
        f.write(body)
    digest = hashlib.sha256(body).hexdigest()
    with Topology("tsm%d" % os.getpid()) as t:
        port = "%s:%s" % (args.driver, t.ts_if)

        # --- serve on two cores ---
        log = os.path.join(tmp, "serve.log")
        p = t.start([args.touchstone, "serve", "--port", port, "--ip", "%s/24" % TS_IP,
                     "--app", "http", "--http-root", www, "--lcores", "2", "--progress", "0",
                     "--duration", "300s"], log, ready=r"http on TCP")
        good = 0
        for i in range(8):
            out = os.path.join(tmp, "dl%d" % i)
            r = t.peer(["curl", "-sS", "--max-time", "30", "-o", out,
                        "http://%s/1m.bin" % TS_IP], check=False, timeout=40)
            if r.returncode == 0 and os.path.exists(out):
                with open(out, "rb") as f:
                    good += hashlib.sha256(f.read()).hexdigest() == digest
        checks.check(good == 8, "serve --lcores 2: 8 curl downloads of 1 MB intact (%d)" % good)
        r = t.peer(["wrk", "-t", "1", "-c", "20", "-d", "3s", "http://%s/1m.bin" % TS_IP],
                   check=False, timeout=60)
        reqs = re.search(r"(\d+) requests in", r.stdout)
        checks.check(r.returncode == 0 and reqs and int(reqs.group(1)) > 0 and
                     "Socket errors" not in r.stdout and "Non-2xx" not in r.stdout,
                     "wrk -c 20 against serve --lcores 2: %s requests, no errors" %
                     (reqs.group(1) if reqs else "?"), r.stdout[-800:])
        out = t.stop(p, log)
        c = parse_counters(out)
        checks.check("lcores" in out and "software steering" in open(log).read(),
                     "serve reports two cores placed by software steering", out[:600])
        checks.check(c.get("steer_out", 0) > 0 and c.get("steer_out") == c.get("steer_in"),
                     "segments steered to the second core: out %d, in %d" %
                     (c.get("steer_out", 0), c.get("steer_in", 0)), out[-1500:])
        checks.check(c.get("steer_tx_relayed", 0) > 0,
                     "the second core transmitted through the first: %d frames" %
                     c.get("steer_tx_relayed", 0), out[-1500:])
        checks.check(c.get("steer_ring_full", 0) == 0 and c.get("steer_tx_ring_full", 0) == 0,
                     "no ring-full drops", out[-1500:])

        # --- gen on two cores against nginx ---
        with open(os.path.join(www, "1k.bin"), "wb") as f:
            f.write(body[:1000])
        access = t.start_nginx(tmp, www)
        jpath = os.path.join(tmp, "gen.json")
        r = t.ns(t.ts_ns, ["timeout", "90", args.touchstone, "gen", "--port", port, "--ip",
                           "%s/24" % TS_IP, "--target", "%s:8080" % PEER_IP, "--mode", "http",
                           "--path", "/1k.bin", "--conns", "8", "--requests", "2000",
                           "--lcores", "2", "--quiet", "--json", jpath],
                 check=False, timeout=120)
        time.sleep(0.5)
        g = json.load(open(jpath)) if os.path.exists(jpath) else {}
        logged = sum(1 for _ in open(access)) if os.path.exists(access) else -1
        checks.check(r.returncode == 0 and g.get("responses_ok") == 2000 and
                     g.get("responses_bad") == 0 and g.get("requests_lost") == 0 and
                     logged == 2000,
                     "gen --lcores 2 -> nginx: 2000 ok, no errors, nginx logged %d" % logged,
                     r.stdout[-1500:])
        gc = g.get("counters", {}).get("gen", {})
        checks.check(gc.get("steer_out", 0) > 0 and gc.get("steer_out") == gc.get("steer_in"),
                     "replies for the second core's connections steered to it: %s" %
                     gc.get("steer_out"), r.stdout[-1500:])

        if args.driver == "af_xdp":
            tap_queue_per_core(args, checks, tmp, t)


def tap_queue_per_core(args, checks, tmp, t):
    tap = "tsmq%d" % (os.getpid() % 100000)
    log = os.path.join(tmp, "tap.log")
    p = t.start([args.touchstone, "serve", "--port", "tap:" + tap,
                 "--ip", "10.78.0.2/24", "--app", "echo", "--lcores", "2", "--progress", "0",
                 "--duration", "120s"], log, ready=r"echo on TCP")
    x = lambda cmd, **kw: t.ns(t.ts_ns, cmd, **kw)
    x(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % tap], check=False)
    x(["ip", "addr", "add", "10.78.0.1/24", "dev", tap])
    x(["ip", "link", "set", tap, "up"])
    clients = [subprocess.Popen(["ip", "netns", "exec", t.ts_ns, "python3", PEER_TOOLS,
                                 "tcp-echo", "--target", "10.78.0.2", "--bytes", "300000",
                                 "--seed", str(i), "--timeout", "60"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for i in range(6)]
    intact = 0
    for c in clients:
        try:
            out, _ = c.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            c.kill()
            out, _ = c.communicate()
        intact += c.returncode == 0 and '"identical": true' in out
    checks.check(intact == 6, "serve --port tap --lcores 2: 6 clients' bytes echoed intact (%d)"
                 % intact)
    out = t.stop(p, log)
    c = parse_counters(out)
    text = open(log).read()
    checks.check("queues 2/" in text and "2 port queues" in text,
                 "the TAP port has a queue per core", text[:800])
    checks.check(c.get("steer_out", 0) == c.get("steer_in", 0) and
                 c.get("steer_ring_full", 0) == 0 and c.get("steer_tx_relayed", 0) == 0,
                 "frames on the wrong queue steered (%d), none relayed or lost" %
                 c.get("steer_out", 0), out[-1500:])


if __name__ == "__main__":
    main()
