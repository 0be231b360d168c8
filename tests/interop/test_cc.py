#!/usr/bin/env python3
"""Every congestion-control algorithm (docs/congestion.md) as gen's bulk sender
to a Linux receiver over a veth, with 1% loss injected on gen's port (--impair
in both directions: data and ACKs), each run bounded in time:

- the receiver (a Python sink in the peer namespace) checks every byte it got
  against gen's bulk pattern: intact;
- it got at least every byte gen saw acknowledged (nothing acknowledged was
  lost), and the loss did happen (retransmissions counted);
- BBR and --pacing runs too, and Tahoe, Reno and NewReno also without SACK.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import PEER_IP, TS_IP, Checks, Topology, require_environment  # noqa: E402

PEER_TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_tools.py")
ALGORITHMS = ["tahoe", "reno", "newreno", "cubic", "vegas", "compound", "bbr"]


def bulk_run(t, args, tmp, port_no, extra, label, checks):
    sink = subprocess.Popen(["ip", "netns", "exec", t.peer_ns, "timeout", "40", "python3",
                             PEER_TOOLS, "bulk-sink", "--port", str(port_no), "--seconds", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    t.procs.append(sink)
    # The sink listens before gen connects (gen retries its SYN otherwise).
    t.peer(["sh", "-c", "for i in $(seq 50); do ss -ltn | grep -q ':%d ' && exit 0; "
            "sleep 0.1; done; exit 1" % port_no], check=False)
    jpath = os.path.join(tmp, "gen-%d.json" % port_no)
    r = t.ns(t.ts_ns, ["timeout", "30", args.touchstone, "gen", "--port",
                       "%s:%s" % (args.driver, t.ts_if), "--ip", "%s/24" % TS_IP, "--target",
                       "%s:%d" % (PEER_IP, port_no), "--mode", "bulk", "--conns", "1",
                       "--duration", "3s", "--impair", "loss=0.01,seed=%d" % port_no, "--quiet",
                       "--json", jpath, "--lcores", "1-1"] + extra, check=False, timeout=45)
    try:
        out, err = sink.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(sink.pid, 9)
        out, err = sink.communicate()
    res = {}
    for line in out.splitlines():
        if line.startswith("{"):
            res = json.loads(line)
    g = json.load(open(jpath)) if os.path.exists(jpath) else {}
    acked = g.get("bytes", {}).get("tx_acked", 0)
    retx = g.get("bytes", {}).get("retransmitted", 0)
    conns = res.get("connections", [])
    got = sum(c["bytes"] for c in conns)
    checks.check(r.returncode == 0 and res.get("intact") and len(conns) == 1 and acked > 0 and
                 got >= acked and retx > 0,
                 "%s: %.1f MB to Linux with 1%% loss, byte-exact, every acknowledged byte "
                 "arrived (%d retransmitted)" % (label, got / 1e6, retx),
                 "gen exit %d\n%s\nsink: %s %s\ngen: %s" % (r.returncode, r.stdout[-800:], out,
                                                           err[-500:], json.dumps(g.get("bytes"))))
    return g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchstone", required=True)
    ap.add_argument("--driver", default="af_xdp")
    args = ap.parse_args()
    require_environment(("ip", "ethtool", "ss"))
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="ts-cc-") as tmp:
        with Topology("tsc%d" % os.getpid()) as t:
            port_no = 5001
            for cc in ALGORITHMS:
                g = bulk_run(t, args, tmp, port_no, ["--cc", cc], "gen --cc " + cc, checks)
                checks.check(g.get("config", {}).get("cc") == cc,
                             "gen --cc %s: the JSON records it" % cc, json.dumps(g.get("config")))
                port_no += 1
            for cc in ("tahoe", "reno", "newreno"):
                g = bulk_run(t, args, tmp, port_no, ["--cc", cc, "--no-sack"],
                             "gen --cc %s --no-sack" % cc, checks)
                checks.check(g.get("config", {}).get("sack") is False,
                             "--no-sack: the JSON records it", json.dumps(g.get("config")))
                port_no += 1
            g = bulk_run(t, args, tmp, port_no, ["--cc", "cubic", "--pacing"],
                         "gen --cc cubic --pacing", checks)
            checks.check(g.get("config", {}).get("pacing") is True,
                         "--pacing: the JSON records it", json.dumps(g.get("config")))
    checks.finish()


if __name__ == "__main__":
    main()
