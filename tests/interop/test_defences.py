#!/usr/bin/env python3
"""The defences of docs/defences.md against Linux peers in namespaces, each
bounded in time; every flood stays inside the test's own namespaces (its
spoofed sources are answered through --gw, the peer, which drops them).

- A spoofed SYN flood (hping3 --flood --rand-source) against serve --app
  http while a Linux client fetches a page 50 times, 1 s each: SYN cookies
  keep it serving. The same against nginx in the namespace with
  net.ipv4.tcp_syncookies=1, for the kernel's figure beside ours.
- 1000 Linux connections that ask serve --app echo for 64 KB and never read,
  under --max-conns 1024 --buffer-memory 24M --persist-reclaim-after 3s: 10
  legitimate echo clients sending 200 KB each still get it back intact.
- gen --mode slowread against nginx: what nginx does with readers that
  never read.
- gen --mode synflood against nginx (syncookies on): the SYN-ACKs counted.
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

PEER_TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_tools.py")
FLOOD_SECONDS = 12


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchstone", required=True)
    ap.add_argument("--driver", default="af_xdp")
    args = ap.parse_args()
    require_environment(("ip", "ethtool", "hping3", "nginx", "taskset"))
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="ts-defences-") as tmp:
        run(args, checks, tmp)
    checks.finish()


def flood(t, target, port):
    """hping3 in the peer namespace: SYNs from random sources at its full rate,
    on CPU 0 (touchstone polls the other), for FLOOD_SECONDS."""
    return subprocess.Popen(
        ["ip", "netns", "exec", t.peer_ns, "timeout", str(FLOOD_SECONDS), "taskset", "-c", "0",
         "hping3", "--flood", "--rand-source", "-S", "-p", str(port), target],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def fetches(t, url, size):
    r = t.peer(["timeout", "100", "python3", PEER_TOOLS, "fetch", "--url", url, "--count", "50",
                "--size", str(size), "--timeout", "1"], check=False, timeout=120)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])["ok"]
    except (ValueError, IndexError, KeyError):
        return -1


def run(args, checks, tmp):
    ts = args.touchstone
    with Topology("tsd%d" % os.getpid()) as t:
        port = "%s:%s" % (args.driver, t.ts_if)

        # --- a spoofed SYN flood against serve --app http: cookies ---
        log = os.path.join(tmp, "serve-http.log")
        p = t.start(["timeout", "120", ts, "serve", "--port", port, "--ip", "%s/24" % TS_IP,
                     "--gw", PEER_IP, "--app", "http", "--http-size", "1K", "--progress", "0",
                     "--lcores", "1-1"], log, ready=r"http on TCP")
        hp = flood(t, TS_IP, 80)
        time.sleep(1)
        ok = fetches(t, "http://%s/page" % TS_IP, 1024)
        hp.wait(timeout=FLOOD_SECONDS + 10)
        out = t.stop(p, log)
        c = parse_counters(out)
        checks.check(ok >= 49 and c.get("tcp_syncookie_sent", 0) > 0,
                     "during a spoofed SYN flood touchstone served %d of 50 fetches within 1 s "
                     "(%d cookies sent, %d connections from cookies, %d SYNs beyond the backlog)"
                     % (ok, c.get("tcp_syncookie_sent", 0), c.get("tcp_syncookie_valid", 0),
                        c.get("tcp_backlog_full", 0)),
                     out[-2500:])

        # --- the same flood against nginx on the kernel, syncookies on ---
        t.ns(t.ts_ns, ["ip", "addr", "add", "%s/24" % TS_IP, "dev", t.ts_if])
        t.ns(t.ts_ns, ["ip", "route", "add", "default", "via", PEER_IP])
        t.ns(t.ts_ns, ["sysctl", "-qw", "net.ipv4.tcp_syncookies=1"])
        www = os.path.join(tmp, "www")
        os.makedirs(www, exist_ok=True)
        with open(os.path.join(www, "page"), "wb") as f:
            f.write(b"k" * 1024)
        conf = os.path.join(tmp, "nginx-ts.conf")
        with open(conf, "w") as f:
            f.write("daemon off; worker_processes 1; pid %s/nginx-ts.pid;\n"
                    "error_log %s/nginx-ts-error.log;\n"
                    "events { worker_connections 1024; }\n"
                    "http { access_log off; server { listen %s:80; root %s; } }\n"
                    % (tmp, tmp, TS_IP, www))
        ng = subprocess.Popen(["ip", "netns", "exec", t.ts_ns, "timeout", "120", "taskset", "-c",
                               "1", "nginx", "-c", conf], stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT, start_new_session=True)
        t.procs.append(ng)
        time.sleep(1)
        hp = flood(t, TS_IP, 80)
        time.sleep(1)
        kok = fetches(t, "http://%s/page" % TS_IP, 1024)
        hp.wait(timeout=FLOOD_SECONDS + 10)
        st = t.ns(t.ts_ns, ["nstat", "-az", "TcpExtSyncookiesSent"], check=False).stdout
        sent = re.search(r"TcpExtSyncookiesSent\s+(\d+)", st)
        print("note - the kernel baseline: nginx with tcp_syncookies=1 served %d of 50 fetches "
              "during the same flood (%s cookies sent); touchstone %d of 50"
              % (kok, sent.group(1) if sent else "?", ok))
        os.killpg(ng.pid, 9)
        ng.wait()
        t.ns(t.ts_ns, ["ip", "route", "del", "default"], check=False)
        t.ns(t.ts_ns, ["ip", "addr", "flush", "dev", t.ts_if], check=False)

        # --- connections that pin memory in persist; legitimate clients ---
        log = os.path.join(tmp, "serve-echo.log")
        p = t.start(["timeout", "120", ts, "serve", "--port", port, "--ip", "%s/24" % TS_IP,
                     "--app", "echo", "--max-conns", "1024", "--buffer-memory", "24M",
                     "--persist-reclaim-after", "3s", "--progress", "0", "--lcores", "1-1"],
                    log, ready=r"echo on TCP")
        holder = subprocess.Popen(
            ["ip", "netns", "exec", t.peer_ns, "timeout", "60", "python3", PEER_TOOLS, "hold",
             "--target", TS_IP, "--conns", "1000", "--bytes", "65536", "--seconds", "25"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        t.procs.append(holder)
        time.sleep(8)  # the attackers connect and fill the budget
        good = 0
        for i in range(10):
            r = t.peer(["python3", PEER_TOOLS, "tcp-echo", "--target", TS_IP, "--bytes",
                        str(200 * 1024), "--seed", str(i + 1), "--timeout", "20"],
                       check=False, timeout=40)
            good += r.returncode == 0
        hout, _ = holder.communicate(timeout=60)
        out = t.stop(p, log)
        c = parse_counters(out)
        checks.check(good == 10 and c.get("tcp_reclaim_persist", 0) > 0,
                     "1000 connections pinning memory in persist: %d of 10 legitimate echo "
                     "clients got 200 KB back intact; %d attackers reclaimed (%s)"
                     % (good, c.get("tcp_reclaim_persist", 0), hout.strip().splitlines()[-1:]),
                     out[-2500:])

        # --- gen --mode slowread against nginx ---
        access = t.start_nginx(tmp, www)
        with open(os.path.join(www, "big"), "wb") as f:
            f.write(b"b" * (1 << 20))
        jpath = os.path.join(tmp, "slowread.json")
        r = t.ns(t.ts_ns, ["timeout", "60", ts, "gen", "--port", port, "--ip", "%s/24" % TS_IP,
                           "--target", "%s:8080" % PEER_IP, "--mode", "slowread", "--conns",
                           "50", "--path", "/big", "--duration", "8s", "--quiet", "--json",
                           jpath, "--lcores", "1-1"], check=False, timeout=90)
        g = json.load(open(jpath)) if os.path.exists(jpath) else {}
        checks.check(r.returncode == 0 and g.get("connections", {}).get("established") == 50,
                     "gen --mode slowread -> nginx: 50 readers that never read; nginx kept %s, "
                     "closed %s, reset %s in 8 s" % (g.get("kept"), g.get("closed_by_target"),
                                                     g.get("reset_by_target")),
                     r.stdout[-1500:])

        # --- gen --mode synflood against nginx (syncookies on in the peer) ---
        t.peer(["sysctl", "-qw", "net.ipv4.tcp_syncookies=1"])
        jpath = os.path.join(tmp, "synflood.json")
        r = t.ns(t.ts_ns, ["timeout", "60", ts, "gen", "--port", port, "--ip", "%s/24" % TS_IP,
                           "--source-ips", "10.77.0.100-10.77.0.199", "--target",
                           "%s:8080" % PEER_IP, "--mode", "synflood", "--rate", "20000",
                           "--duration", "3s", "--quiet", "--json", jpath, "--lcores", "1-1"],
                 check=False, timeout=90)
        g = json.load(open(jpath)) if os.path.exists(jpath) else {}
        checks.check(r.returncode == 0 and g.get("syns_sent", 0) > 50000 and
                     g.get("syn_acks", 0) > 0,
                     "gen --mode synflood -> nginx: %s SYNs sent, %s SYN-ACKs, %s resets back"
                     % (g.get("syns_sent"), g.get("syn_acks"), g.get("resets")),
                     r.stdout[-1500:])
        del access


if __name__ == "__main__":
    main()
