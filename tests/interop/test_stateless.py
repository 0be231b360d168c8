#!/usr/bin/env python3
"""The stateless responders (docs/stateless.md) against Linux clients in
namespaces, each step bounded in time:

- dnsmasq in the peer namespace answers *.test over UDP; serve --app dns
  relays DNS over TCP to it. dig +tcp and kdig +tcp get the right address
  for every name, also with 1% loss injected on serve's port both ways, and
  `stats --connections --json` finds no connection open while they run; serve
  ends with no connection ever established.
- the relay on two cores: every upstream answer comes back to the core that
  asked (its UDP port is placed like TCP's), so none is refused.
- gen --mode dns over UDP and --tcp (one query per connection) against
  dnsmasq: every answer NOERROR.
- ab -n 3000 -c 10 against serve --app stateless-http: 0 failed, 0 bad
  lengths, and no connection on serve's side.
- curl against serve --app stateless-http --backend pointing at nginx in the
  peer namespace: every body byte-exact, nginx logging each fetch.
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
from netns import PEER_IP, TS_IP, Checks, Topology, parse_counters, require_environment  # noqa: E402

ANSWER = "10.9.8.7"


def start_dnsmasq(t, tmp):
    """dnsmasq in the peer namespace: every name under .test is ANSWER, nothing else."""
    log = open(os.path.join(tmp, "dnsmasq.log"), "w")
    p = subprocess.Popen(["ip", "netns", "exec", t.peer_ns, "dnsmasq", "-k", "--no-resolv",
                          "--no-hosts", "--conf-file=/dev/null", "--pid-file=",
                          "--listen-address=%s" % PEER_IP, "--bind-interfaces",
                          "--address=/test/%s" % ANSWER, "--cache-size=0", "-u", "root"],
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    t.procs.append(p)
    deadline = time.time() + 10
    while time.time() < deadline:
        r = t.peer(["dig", "+short", "+time=1", "+tries=1", "@%s" % PEER_IP, "probe.test"],
                   check=False, timeout=5)
        if r.stdout.strip() == ANSWER:
            return p
        time.sleep(0.2)
    raise RuntimeError("dnsmasq did not answer: " + open(os.path.join(tmp, "dnsmasq.log")).read())


def ask(t, tool, name, extra=()):
    """One query over TCP from the peer namespace; the addresses answered."""
    if tool == "dig":
        cmd = ["dig", "+tcp", "+short", "+time=3", "+tries=3", "@%s" % TS_IP, name]
    else:
        cmd = ["kdig", "+tcp", "+short", "+time=3", "+retry=2", "@%s" % TS_IP, name]
    r = t.peer(["timeout", "20"] + cmd + list(extra), check=False, timeout=30)
    return r.stdout.split()


def open_connections(ts, pid):
    """stats --connections --json of a running instance: connections open on all cores."""
    r = subprocess.run([ts, "stats", "--pid", str(pid), "--connections", "--json"],
                       capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        return None
    j = json.loads(r.stdout)
    return sum(c.get("connections_open", 0) for c in j.get("cores", []))


def serve_pid(t, p):
    """The touchstone process under `timeout` under `ip netns exec` (stats needs its pid)."""
    out = subprocess.run(["pgrep", "-g", str(p.pid), "-f", "touchstone serve"],
                         capture_output=True, text=True).stdout.split()
    return int(out[-1]) if out else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchstone", required=True)
    ap.add_argument("--driver", default="af_xdp")
    args = ap.parse_args()
    require_environment(("ip", "ethtool", "dnsmasq", "dig", "kdig", "ab"))
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="ts-stateless-") as tmp:
        run(args, checks, tmp)
    checks.finish()


def dns_round(t, ts, port, tmp, checks, impair):
    log = os.path.join(tmp, "serve-dns.log")
    cmd = ["timeout", "240", ts, "serve", "--port", port, "--ip", "%s/24" % TS_IP, "--app", "dns",
           "--upstream", PEER_IP, "--progress", "0", "--lcores", "1-1"]
    if impair:
        cmd += ["--impair", "loss=1%,seed=3"]
    p = t.start(cmd, log, ready=r"dns on TCP port 53")
    names = ["n%d.test" % i for i in range(40)]
    right = {"dig": 0, "kdig": 0}
    during = []
    pid = serve_pid(t, p)
    for i, name in enumerate(names):
        for tool in ("dig", "kdig"):
            if ask(t, tool, name) == [ANSWER]:
                right[tool] += 1
        if i % 10 == 5 and pid:
            during.append(open_connections(ts, pid))
    out = t.stop(p, log)
    c = parse_counters(out)
    what = "with 1% loss both ways" if impair else "on a clean link"
    checks.check(right["dig"] == len(names) and right["kdig"] == len(names),
                 "dig +tcp and kdig +tcp through serve --app dns (%s): %d and %d of %d names "
                 "answered %s" % (what, right["dig"], right["kdig"], len(names), ANSWER),
                 out[-2500:])
    checks.check(c.get("tcp_conn_established", 0) == 0 and c.get("tcp_stateless_answers", 0) >= 2 * len(names)
                 and during and all(d == 0 for d in during),
                 "serve --app dns (%s) made no connection: established %d, stateless answers %d, "
                 "stats --connections while it ran: %s"
                 % (what, c.get("tcp_conn_established", 0), c.get("tcp_stateless_answers", 0), during),
                 out[-2500:])
    return out


def run(args, checks, tmp):
    ts = args.touchstone
    with Topology("tss%d" % os.getpid()) as t:
        port = "%s:%s" % (args.driver, t.ts_if)
        start_dnsmasq(t, tmp)
        dns_round(t, ts, port, tmp, checks, impair=False)
        dns_round(t, ts, port, tmp, checks, impair=True)
        two_cores(t, ts, port, tmp, checks)

        # --- touchstone's own DNS load against dnsmasq, over UDP and TCP ---
        for transport in ([], ["--tcp"]):
            jpath = os.path.join(tmp, "gen-dns.json")
            r = t.ns(t.ts_ns, ["timeout", "60", ts, "gen", "--port", port, "--ip", "%s/24" % TS_IP,
                               "--target", "%s:53" % PEER_IP, "--mode", "dns", "--qname", "a.test",
                               "--requests", "2000", "--conns", "8", "--quiet", "--json", jpath,
                               "--lcores", "1-1"] + transport, check=False, timeout=90)
            g = json.load(open(jpath)) if os.path.exists(jpath) else {}
            checks.check(r.returncode == 0 and g.get("responses_ok") == 2000 and
                         g.get("dns_rcode", {}).get("NOERROR") == 2000,
                         "gen --mode dns %s-> dnsmasq: %s of 2000 answered, rcodes %s"
                         % (" ".join(transport) + " " if transport else "over UDP ",
                            g.get("responses_ok"), g.get("dns_rcode")),
                         r.stdout[-2000:] + (r.stderr or "")[-500:])
            os.unlink(jpath) if os.path.exists(jpath) else None

        backend_round(t, ts, port, tmp, checks)

        # --- ab against serve --app stateless-http ---
        log = os.path.join(tmp, "serve-http.log")
        p = t.start(["timeout", "120", ts, "serve", "--port", port, "--ip", "%s/24" % TS_IP,
                     "--app", "stateless-http", "--http-size", "600", "--progress", "0",
                     "--lcores", "1-1"], log, ready=r"stateless-http on TCP port 80")
        r = t.peer(["timeout", "90", "ab", "-q", "-n", "3000", "-c", "10", "-s", "10",
                    "http://%s/" % TS_IP], check=False, timeout=100)
        out = t.stop(p, log)
        c = parse_counters(out)
        done = re.search(r"Complete requests:\s+(\d+)", r.stdout)
        failed = re.search(r"Failed requests:\s+(\d+)", r.stdout)
        length = re.search(r"Document Length:\s+(\d+)", r.stdout)
        checks.check(r.returncode == 0 and done and int(done.group(1)) == 3000 and failed and
                     int(failed.group(1)) == 0 and length and int(length.group(1)) == 600 and
                     c.get("tcp_conn_established", 0) == 0,
                     "ab -n 3000 -c 10 -> serve --app stateless-http: %s complete, %s failed, "
                     "%s-byte bodies; serve established %d connections"
                     % (done.group(1) if done else "?", failed.group(1) if failed else "?",
                        length.group(1) if length else "?", c.get("tcp_conn_established", 0)),
                     r.stdout[-2500:] + out[-1500:])


def two_cores(t, ts, port, tmp, checks):
    """serve --app dns on two cores (one queue: software steering): each core's queries leave
    from a UDP port whose answers hash back to it, so none is refused as unbound."""
    log = os.path.join(tmp, "serve-dns-2.log")
    p = t.start(["timeout", "120", ts, "serve", "--port", port, "--ip", "%s/24" % TS_IP, "--app",
                 "dns", "--upstream", PEER_IP, "--progress", "0", "--lcores", "0-1"], log,
                ready=r"dns on TCP port 53")
    got = sum(1 for i in range(20) if ask(t, "dig" if i % 2 else "kdig", "two%d.test" % i) == [ANSWER])
    out = t.stop(p, log)
    c = parse_counters(out)
    checks.check(got == 20 and c.get("udp_no_listener", 0) == 0 and
                 c.get("udp_datagrams_in", 0) >= 20,
                 "serve --app dns on two cores: %d of 20 answered, %d upstream answers delivered, "
                 "%d refused as unbound" % (got, c.get("udp_datagrams_in", 0),
                                           c.get("udp_no_listener", 0)), out[-2000:])


def backend_round(t, ts, port, tmp, checks):
    www = os.path.join(tmp, "www")
    os.makedirs(www, exist_ok=True)
    pages = {"small": bytes((i * 7 + 3) % 251 for i in range(700)),
             "large": bytes((i * 13 + 5) % 251 for i in range(20000))}
    for name, body in pages.items():
        with open(os.path.join(www, name), "wb") as f:
            f.write(body)
        os.chmod(os.path.join(www, name), 0o644)
    for d in (tmp, www):  # nginx's workers run as www-data
        os.chmod(d, 0o755)
    access = t.start_nginx(tmp, www, port=8080)
    log = os.path.join(tmp, "serve-backend.log")
    p = t.start(["timeout", "120", ts, "serve", "--port", port, "--ip", "%s/24" % TS_IP,
                 "--app", "stateless-http", "--backend", "%s:8080" % PEER_IP, "--progress", "0",
                 "--lcores", "1-1"], log, ready=r"stateless-http on TCP port 80")
    intact = 0
    for i in range(20):
        name = "small" if i % 2 else "large"
        out = os.path.join(tmp, "got%d" % i)
        r = t.peer(["timeout", "20", "curl", "-s", "-o", out, "http://%s/%s" % (TS_IP, name)],
                   check=False, timeout=30)
        if r.returncode == 0 and os.path.exists(out) and open(out, "rb").read() == pages[name]:
            intact += 1
    out = t.stop(p, log)
    c = parse_counters(out)
    logged = sum(1 for line in open(access) if " 200 " in line) if os.path.exists(access) else 0
    checks.check(intact == 20 and logged >= 20 and c.get("tcp_stateless_answers", 0) >= 20,
                 "curl -> serve --app stateless-http --backend nginx: %d of 20 bodies intact "
                 "(700 B and 20 KB), nginx logged %d fetches" % (intact, logged), out[-2500:])


if __name__ == "__main__":
    main()
