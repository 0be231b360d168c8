#!/usr/bin/env python3
"""The touchstone command line: help that explains every flag, one clear line
and exit status 2 for every kind of bad input, and the demo end to end (its
JSON, its fault injection, its reaction to SIGINT)."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

TS = sys.argv[1]
failed = 0


def check(ok, what, detail=""):
    global failed
    print(("ok   - " if ok else "FAIL - ") + what + ("" if ok or not detail else "\n" + detail))
    sys.stdout.flush()
    if not ok:
        failed += 1


def run(args, timeout=60):
    return subprocess.run([TS] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def interrupt(p):
    """SIGINT to a running demo; killed if it does not stop within 15 s."""
    p.send_signal(signal.SIGINT)
    try:
        p.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()


# --- help ---
r = run(["--help"])
check(r.returncode == 0 and all(c in r.stdout for c in ("serve", "gen", "demo")),
      "touchstone --help lists the commands", r.stdout + r.stderr)
flags = {
    "serve": ["--port", "--ip", "--gw", "--vlan", "--lcores", "--eal", "--impair", "--duration",
              "--progress", "--quiet", "--app", "--listen", "--http-root", "--http-size",
              "--max-conns", "--buffer-memory", "--hostcache"],
    "gen": ["--port", "--ip", "--target", "--mode", "--conns", "--rate", "--requests", "--size",
            "--req-size", "--resp-size", "--path",
            "--timeout", "--json", "--impair", "--source-ips", "--source-ports", "--max-conns", "--buffer-memory",
            "--hostcache"],
    "demo": ["--mode", "--conns", "--rate", "--duration", "--requests", "--size", "--json",
             "--impair", "--lcores", "--hostcache", "--layout"],
    "sim": ["--scenario", "--cc", "--seed", "--bytes", "--json", "--trace", "--list"],
    "stats": ["--pid", "--socket", "--connections", "--max-connections", "--json"],
}
for cmd, want in flags.items():
    r = run([cmd, "--help"])
    missing = [f for f in want if f not in r.stdout]
    check(r.returncode == 0 and not missing, "touchstone %s --help explains %s" % (cmd, " ".join(want)),
          "missing: %s\n%s" % (missing, r.stdout))

# --- bad input: one line on stderr, exit 2, nothing started ---
port = ["--port", "af_xdp:lo", "--ip", "10.9.0.2/24"]  # lo exists everywhere
bad = [
    [],
    ["bogus"],
    ["serve", "--ip", "10.0.0.1/24"],
    ["serve", "--port", "af_xdp:veth0"],
    ["serve", "--port", "foo:bar", "--ip", "10.0.0.1/24"],
    ["serve", "--port", "af_xdp:veth0", "--ip", "10.0.0.1"],
    ["serve", "--port", "af_xdp:veth0", "--ip", "300.0.0.1/24"],
    ["serve", "--port", "af_xdp:veth0", "--ip", "10.0.0.1/24", "--gw", "10.1.0.1"],
    ["serve", "--port", "af_xdp:lo", "--ip", "10.0.0.1/24", "--gw", "10.0.0.1"],
    ["serve", "--port", "af_xdp:lo", "--ip", "10.0.0.0/24"],
    ["serve", "--port", "af_xdp:lo", "--ip", "10.0.0.255/24"],
    ["serve", "--port", "af_xdp:lo", "--ip", "127.0.0.2/8"],
    ["serve", "--port", "ring", "--ip", "10.0.0.1/24"],
    ["serve"] + port + ["--impair", "loss=2"],
    ["serve"] + port + ["--impair", "jitter=1ms"],
    ["serve"] + port + ["--duration", "5"],
    ["serve"] + port + ["--vlan", "5000"],
    ["serve"] + port + ["--vlan", "x"],
    ["serve"] + port + ["--bogus"],
    ["gen"] + port + ["--target", "x"],
    ["gen"] + port,
    ["gen"] + port + ["--target", "10.9.0.1:80", "--rate", "0"],
    ["gen"] + port + ["--mode", "ping", "--target", "10.9.0.1", "--size", "10"],
    ["gen"] + port + ["--mode", "ping", "--target", "10.9.0.1", "--size", "9000"],
    ["gen"] + port + ["--mode", "ping", "--target", "10.9.0.1:80"],
    ["gen"] + port + ["--target", "10.9.0.2:80"],
    ["gen"] + port + ["--target", "224.0.0.1:80"],
    ["gen"] + port + ["--target", "10.9.0.255:80"],
    ["gen"] + port + ["--mode", "ping", "--target", "10.9.0.1", "--timeout", "1e10s"],
    ["gen"] + port + ["--target", "10.9.0.1"],
    ["gen"] + port + ["--target", "10.9.0.1:0"],
    ["gen"] + port + ["--target", "10.9.0.1:70000"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--mode", "nosuch"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--req-size", "0"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--mode", "http", "--path", "x"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--mode", "bulk", "--rate", "100"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--source-ips", "10.8.0.5-10.8.0.9"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--source-ips", "10.9.0.9-10.9.0.5"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--source-ips", "10.9.0.200-10.9.0.255"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--source-ips", "10.9.0.1-10.9.0.5"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--source-ips", "nonsense"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--source-ports", "80-90"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--source-ports", "50000-40000"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--max-conns", "0"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--conns", "100", "--max-conns", "10"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--conns", "200000"],  # above the default --max-conns
    ["serve"] + port + ["--app", "echo", "--max-conns", "lots"],
    ["serve"] + port + ["--app", "echo", "--buffer-memory", "much"],
    ["gen"] + port + ["--target", "10.9.0.1:80", "--buffer-memory", "-5"],
    ["serve"] + port + ["--app", "nosuch"],
    ["serve"] + port + ["--app", "http", "--listen", "70000"],
    ["serve"] + port + ["--app", "http", "--http-root", "/nonexistent-dir"],
    ["serve"] + port + ["--app", "echo", "--http-root", "/tmp"],
    ["serve"] + port + ["--app", "http", "--http-size", "lots"],
    ["demo", "--mode", "nosuch"],
    ["demo", "--conns", "0"],
    ["demo", "--conns", "-3"],
    ["demo", "--requests", "abc"],
    ["demo", "--timeout", "0s"],
    ["demo", "--port", "ring"],
    ["demo", "--hostcache", "sometimes"],
    ["demo", "--lcores", "999"],
    ["demo", "--lcores", "0"],
    ["demo", "--layout", "sideways"],
    ["demo", "--layout", "paired", "--lcores", "2", "--conns", "1"],
    ["demo", "--layout", "paired", "--lcores", "2", "--requests", "1"],
    ["demo", "--mode", "ping", "--layout", "paired", "--lcores", "2"],
    ["serve"] + port + ["--app", "echo", "--hostcache", "on"],
    ["sim", "--scenario", "clean", "--trace", "/nonexistent-dir/t"],
    ["sim", "--scenario", "nosuch"],
    ["sim", "--scenario", "clean", "--cc", "vegas2"],
    ["stats", "--pid", "0"],
    ["stats", "--pid", "abc"],
    ["stats", "--bogus"],
    ["stats", "nonsense"],
    ["serve", "--port", "af_xdp:nosuch0", "--ip", "10.9.0.2/24"],
    ["serve", "--port", "af_packet:nosuch0", "--ip", "10.9.0.2/24"],
    ["serve", "--port", "pci:0000:ff:1f.7", "--ip", "10.9.0.2/24"],
]
for args in bad:
    r = run(args)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode == 2 and len(lines) == 1 and lines[0].startswith("touchstone: error: "),
          "touchstone %s -> exit 2 with one error line" % " ".join(args),
          "exit %d, stderr:\n%s" % (r.returncode, r.stderr))

# --- demo end to end ---
tmp = tempfile.mkdtemp(prefix="ts-cli-")
j = os.path.join(tmp, "demo.json")
r = run(["demo", "--mode", "ping", "--requests", "50000", "--json", j, "--quiet"], timeout=120)
res = json.load(open(j)) if os.path.exists(j) else {}
check(r.returncode == 0 and res.get("requests_sent") == 50000 and
      res.get("responses_ok") == 50000 and res.get("corrupt") == 0 and
      res.get("latency_us", {}).get("p50", 0) > 0,
      "demo --requests 50000: every reply back and verified, JSON written",
      r.stdout[-1500:] + r.stderr[-500:])
check("replies ok" in r.stdout and "round trip" in r.stdout, "demo prints a summary", r.stdout)

j2 = os.path.join(tmp, "loss.json")
r = run(["demo", "--mode", "ping", "--requests", "20000", "--impair", "loss=0.05,seed=1", "--timeout", "20ms",
         "--json", j2, "--quiet"], timeout=120)
res = json.load(open(j2)) if os.path.exists(j2) else {}
sent, ok, lost = res.get("requests_sent", 0), res.get("responses_ok", 0), res.get("lost", 0)
check(r.returncode == 0 and sent == 20000 and ok + lost == sent and 1000 < lost < 3000,
      "demo with 5%% loss each way: %d lost of %d, every request accounted for" % (lost, sent),
      r.stdout[-1500:])

j3 = os.path.join(tmp, "corrupt.json")
r = run(["demo", "--mode", "ping", "--requests", "20000", "--impair", "corrupt=0.05,seed=2", "--timeout", "20ms",
         "--json", j3, "--quiet"], timeout=120)
res = json.load(open(j3)) if os.path.exists(j3) else {}
counters = res.get("counters", {})
caught = sum(v for k, v in counters.items() if k.endswith("_checksum"))
check(r.returncode == 0 and res.get("corrupt") == 0 and
      res.get("responses_ok", 0) + res.get("lost", 0) == 20000 and caught > 0,
      "demo with 5%% corruption: %d caught by checksums, no corrupt reply accepted" % caught,
      r.stdout[-1500:])

# --- the TCP workloads end to end over the in-memory port ---
for mode, extra, what in (
        ("rr", [], "request/response on 16 persistent connections"),
        ("rr", ["--req-size", "100", "--resp-size", "20000"], "rr with 20000-byte responses"),
        ("cps", [], "a connection per request"),
        ("http", ["--resp-size", "3000"], "HTTP GETs with keep-alive"),
        ("rr", ["--rate", "20000"], "open loop at 20000 req/s"),
        ("rr", ["--impair", "loss=0.01,reorder=0.01,seed=3"],
         "1% loss and 1% reordering: TCP repairs everything"),
        ("cps", ["--impair", "loss=0.01,seed=4"], "cps with 1% loss: lost SYNs cost 1 s")):
    n = 2000 if mode == "cps" and extra else 20000
    jt = os.path.join(tmp, "tcp.json")
    if os.path.exists(jt):
        os.remove(jt)
    r = run(["demo", "--mode", mode, "--requests", str(n), "--json", jt, "--quiet"] + extra,
            timeout=120)
    res = json.load(open(jt)) if os.path.exists(jt) else {}
    conns = res.get("connections", {})
    check(r.returncode == 0 and res.get("responses_ok") == n and
          res.get("responses_bad") == 0 and res.get("requests_lost") == 0 and
          conns.get("failed") == 0 and res.get("latency_us", {}).get("p99", 0) > 0,
          "demo --mode %s %s: %d of %d answered (%s)" % (mode, " ".join(extra), n, n, what),
          r.stdout[-1500:] + r.stderr[-500:])
# --- several cores: each runs its own share of the connections ---
for layout, what in (("paired", "a gen and a serve side by side on each of 2 cores"),
                     ("split", "gen on one core, serve on the other")):
    for mode in ("rr", "cps"):
        n = 20000
        jt = os.path.join(tmp, "cores.json")
        if os.path.exists(jt):
            os.remove(jt)
        r = run(["demo", "--mode", mode, "--layout", layout, "--lcores", "2", "--requests",
                 str(n), "--json", jt], timeout=120)
        res = json.load(open(jt)) if os.path.exists(jt) else {}
        c = res.get("counters", {})
        check(r.returncode == 0 and res.get("responses_ok") == n and
              res.get("requests_lost") == 0 and res.get("connections", {}).get("failed") == 0 and
              c.get("steer_ring_full", 0) == 0 and c.get("steer_tx_ring_full", 0) == 0,
              "demo --layout %s --lcores 2 --mode %s: %d answered (%s)" % (layout, mode, n, what),
              r.stdout[-1500:] + r.stderr[-500:])
        if layout == "paired":
            # Ports are chosen per core, and the ring link has a queue per core:
            # only the ARP replies (copied to the other core) cross between cores.
            check(c.get("steer_out", 0) <= 4 and "2 queue pairs" in r.stdout,
                  "paired %s: flows stay on their core (steered %d)" % (mode, c.get("steer_out", 0)),
                  r.stdout[:400])

jt = os.path.join(tmp, "bulk.json")
r = run(["demo", "--mode", "bulk", "--duration", "2s", "--json", jt, "--quiet"], timeout=60)
res = json.load(open(jt)) if os.path.exists(jt) else {}
check(r.returncode == 0 and res.get("gbps", 0) > 0.1 and
      res.get("bytes", {}).get("tx_acked", 0) > 0, "demo --mode bulk: data acknowledged",
      r.stdout[-1500:])

# --- stats: counters and connections of a running instance over telemetry ---
p = subprocess.Popen([TS, "demo", "--duration", "30s", "--conns", "4", "--quiet"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    stats = {}
    deadline = time.time() + 15
    while time.time() < deadline:
        r = run(["stats", "--pid", str(p.pid), "--json"], timeout=20)
        if r.returncode == 0:
            stats = json.loads(r.stdout)
            est = [c.get("counters", {}).get("tcp_conn_established", 0) for c in stats["cores"]]
            if len(est) == 2 and min(est) >= 4:
                break
        time.sleep(0.5)
    roles = sorted(c.get("counters", {}).get("role", "") for c in stats.get("cores", []))
    check(stats.get("command") == "demo" and stats.get("pid") == p.pid and
          roles == ["gen", "serve"], "stats --json: both cores of a running demo, by role",
          json.dumps(stats)[:1500])
    # The port's counters come from the one list the exit summary prints too.
    port = [c.get("counters", {}) for c in stats.get("cores", [])]
    check(len(port) == 2 and all(c.get("port_rx_packets", 0) > 0 and c.get("port_rx_bytes", 0) > 0
                                 for c in port),
          "stats --json: every port counter of each core (port_rx_packets, port_rx_bytes)",
          json.dumps(port)[:800])
    r = run(["stats", "--pid", str(p.pid), "--connections"], timeout=20)
    est_rows = [l for l in r.stdout.splitlines() if "ESTABLISHED" in l]
    check(r.returncode == 0 and len(est_rows) == 8 and "10.0.0.1:5001" in r.stdout and
          "tcp_segs_in" in r.stdout,
          "stats --connections: the 4 connections on each side, like ss", r.stdout[-2000:] + r.stderr)
finally:
    interrupt(p)
r = run(["stats", "--pid", str(p.pid)])
lines = [l for l in r.stderr.splitlines() if l.strip()]
check(r.returncode == 1 and len(lines) == 1 and "no running touchstone" in lines[0],
      "stats for an instance that has exited: exit 1, one error line", r.stdout + r.stderr)

# --- stats hostcache: the host-pair cache of a running cps demo ---
p = subprocess.Popen([TS, "demo", "--mode", "cps", "--duration", "30s", "--quiet"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    cache = {}
    deadline = time.time() + 15
    while time.time() < deadline:
        r = run(["stats", "hostcache", "--pid", str(p.pid), "--json"], timeout=20)
        if r.returncode == 0:
            cache = json.loads(r.stdout)
            if len(cache.get("entries", [])) == 2 and all(e["closes"] > 100
                                                         for e in cache["entries"]):
                break
        time.sleep(0.5)
    pairs = sorted((e["local"], e["remote"]) for e in cache.get("entries", []))
    check(cache.get("policy") == "temporal" and
          pairs == [("10.0.0.1", "10.0.0.2"), ("10.0.0.2", "10.0.0.1")] and
          all(e["mss"] > 0 and e["srtt_us"] > 0 and e["closes"] > 100
              for e in cache.get("entries", [])),
          "stats hostcache --json: both directions' entries, learned from closed connections",
          json.dumps(cache)[:1500])
    r = run(["stats", "hostcache", "--pid", str(p.pid)], timeout=20)
    check(r.returncode == 0 and "policy temporal" in r.stdout and
          "10.0.0.1 age" in r.stdout and "source 10.0.0.2" in r.stdout and "rtt" in r.stdout,
          "stats hostcache: one line per host pair, like ip tcp_metrics", r.stdout + r.stderr)
finally:
    interrupt(p)

p = subprocess.Popen([TS, "demo", "--duration", "60s"], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
time.sleep(3)
p.send_signal(signal.SIGINT)
try:
    out, err = p.communicate(timeout=15)
    check(p.returncode == 0 and "requests" in out and "latency" in out and "[" in out,
          "demo prints progress lines, stops on SIGINT and prints its summary",
          out[-1000:] + err[-500:])
except subprocess.TimeoutExpired:
    p.kill()
    check(False, "demo stops within 15 s of SIGINT")

if failed:
    print("%d check(s) failed" % failed)
    sys.exit(1)
print("all checks passed")
