#!/usr/bin/env python3
"""TCP Fast Open (docs/fastopen.md) against Linux peers in namespaces, each
step bounded in time; the peer namespace has net.ipv4.tcp_fastopen=3.

- curl --tcp-fastopen fetches a file from serve --tfo --app http 10 times
  (a process each, so the kernel's cookie cache carries the cookie): the
  first asks for a cookie, the later SYNs carry the request and the SYN-ACK
  acknowledges it (the kernel counts TCPFastOpenActive), and the answer
  comes with it; every body byte-exact.
- gen --tfo --mode http --close against nginx listening with fastopen=256:
  the SYNs carry the requests (nginx's kernel counts TCPFastOpenPassive),
  and gen's count of answers equals nginx's access log.
- gen --tfo against nginx without Fast Open: the server answers the cookie
  request without one; gen marks it and every request still completes.
"""
import argparse
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import PEER_IP, TS_IP, Checks, Topology, parse_counters, require_environment  # noqa: E402


def nstat(t, names):
    """The peer namespace's kernel counters since the last call (nstat keeps the history)."""
    out = t.peer(["nstat", "-az"] + names, check=False).stdout
    got = {}
    for line in out.splitlines():
        m = re.match(r"(\w+)\s+(\d+)", line)
        if m:
            got[m.group(1)] = int(m.group(2))
    return got


def gen_http_close(t, ts, port, tmp, name, target_port, conns, requests):
    """gen --tfo --mode http --close in the touchstone namespace against nginx on
    PEER_IP:target_port; returns the process result, its JSON and gen's counters."""
    jpath = os.path.join(tmp, name + ".json")
    r = t.ns(t.ts_ns, ["timeout", "60", ts, "gen", "--port", port, "--ip", "%s/24" % TS_IP,
                       "--target", "%s:%d" % (PEER_IP, target_port), "--mode", "http",
                       "--close", "--path", "/page", "--tfo", "--conns", str(conns),
                       "--requests", str(requests), "--quiet", "--json", jpath,
                       "--lcores", "1-1"], check=False, timeout=90)
    g = json.load(open(jpath)) if os.path.exists(jpath) else {}
    return r, g, g.get("counters", {}).get("gen", {})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchstone", required=True)
    ap.add_argument("--driver", default="af_xdp")
    args = ap.parse_args()
    require_environment(("ip", "ethtool", "nginx", "curl", "nstat"))
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="ts-fastopen-") as tmp:
        run(args, checks, tmp)
    checks.finish()


def run(args, checks, tmp):
    ts = args.touchstone
    counters = ["TcpExtTCPFastOpenActive", "TcpExtTCPFastOpenPassive", "TcpExtTCPFastOpenCookieReqd"]
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    body = bytes((i * 7 + 3) % 251 for i in range(3000))  # three segments' worth
    with open(os.path.join(www, "page"), "wb") as f:
        f.write(body)
    for d in (tmp, www):  # nginx's workers run as www-data
        os.chmod(d, 0o755)
    os.chmod(os.path.join(www, "page"), 0o644)
    with Topology("tsf%d" % os.getpid()) as t:
        port = "%s:%s" % (args.driver, t.ts_if)
        t.peer(["sysctl", "-qw", "net.ipv4.tcp_fastopen=3"])

        # --- curl --tcp-fastopen against serve --tfo ---
        log = os.path.join(tmp, "serve.log")
        p = t.start(["timeout", "120", ts, "serve", "--port", port, "--ip", "%s/24" % TS_IP,
                     "--app", "http", "--http-root", www, "--tfo", "--progress", "0",
                     "--lcores", "1-1"], log, ready=r"http on TCP")
        nstat(t, counters)
        intact = 0
        for i in range(10):
            out = os.path.join(tmp, "got%d" % i)
            r = t.peer(["timeout", "10", "curl", "-s", "--tcp-fastopen", "-o", out,
                        "http://%s/page" % TS_IP], check=False, timeout=20)
            if r.returncode == 0 and os.path.exists(out) and open(out, "rb").read() == body:
                intact += 1
        k = nstat(t, counters)
        out = t.stop(p, log)
        c = parse_counters(out)
        checks.check(intact == 10 and c.get("tcp_fastopen_accepted", 0) >= 8 and
                     k.get("TcpExtTCPFastOpenActive", 0) >= 8 and
                     c.get("tcp_fastopen_cookies_sent", 0) >= 1,
                     "curl --tcp-fastopen -> serve --tfo: %d of 10 bodies intact; %d SYNs with "
                     "the request taken at once, %d acknowledged as the kernel counts "
                     "(TCPFastOpenActive), %d cookies given"
                     % (intact, c.get("tcp_fastopen_accepted", 0),
                        k.get("TcpExtTCPFastOpenActive", 0), c.get("tcp_fastopen_cookies_sent", 0)),
                     out[-2500:])

        # --- gen --tfo --mode http --close against nginx with fastopen=256 ---
        access = t.start_nginx(tmp, www, port=8081, fastopen_port=8080)
        nstat(t, counters)
        r, g, gc = gen_http_close(t, ts, port, tmp, "gen", 8080, 4, 200)
        k = nstat(t, counters)
        logged = sum(1 for line in open(access) if " 200 " in line) if os.path.exists(access) else 0
        checks.check(r.returncode == 0 and g.get("responses_ok") == 200 and logged == 200 and
                     k.get("TcpExtTCPFastOpenPassive", 0) >= 190 and
                     gc.get("tcp_fastopen_syn_data_acked", 0) >= 190,
                     "gen --tfo --mode http --close -> nginx (fastopen=256): %s answers, nginx "
                     "logged %d; %d SYNs carried their request (TCPFastOpenPassive %d)"
                     % (g.get("responses_ok"), logged, gc.get("tcp_fastopen_syn_data_acked", 0),
                        k.get("TcpExtTCPFastOpenPassive", 0)),
                     r.stdout[-2000:])

        # --- gen --tfo against nginx without Fast Open: it falls back ---
        r, g, gc = gen_http_close(t, ts, port, tmp, "gen-plain", 8081, 1, 50)
        checks.check(r.returncode == 0 and g.get("responses_ok") == 50 and
                     gc.get("tcp_fastopen_blocked", 0) >= 45 and
                     gc.get("tcp_fastopen_syn_data", 0) == 0,
                     "gen --tfo -> nginx without Fast Open: %s of 50 answered; the first SYN's "
                     "cookie request went unanswered, so %d connects went without Fast Open"
                     % (g.get("responses_ok"), gc.get("tcp_fastopen_blocked", 0)),
                     r.stdout[-2000:])


if __name__ == "__main__":
    main()
