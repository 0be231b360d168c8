#!/usr/bin/env python3
"""serve --pcap against curl in a Linux namespace, read back by tshark: the
capture holds every frame the port counted (port_rx_packets + port_tx_packets)
and tshark finds each HTTP request curl made; --pcap-snaplen cuts frames and
--pcap-count stops the capture."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import PEER_IP, TS_IP, Checks, Topology, parse_counters, require_environment  # noqa: E402

FETCHES = 20


def tshark(path, *extra):
    return subprocess.run(["tshark", "-n", "-r", path] + list(extra), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)


def serve_and_fetch(t, ts, port, pcap, tmp, extra, fetches):
    log = os.path.join(tmp, "serve.log")
    p = t.start(["timeout", "60", ts, "serve", "--port", port, "--ip", "%s/24" % TS_IP,
                 "--app", "http", "--http-size", "2K", "--progress", "0", "--lcores", "1-1",
                 "--pcap", pcap] + extra, log, ready=r"http on TCP")
    ok = 0
    for i in range(fetches):
        r = t.peer(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                    "http://%s/page%d" % (TS_IP, i)], check=False, timeout=10)
        ok += r.stdout.strip() == "200"
    return ok, t.stop(p, log)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchstone", required=True)
    ap.add_argument("--driver", choices=("af_xdp", "af_packet"), default="af_packet")
    args = ap.parse_args()
    require_environment(tools=("ip", "ethtool", "curl", "tshark"))
    ts = os.path.abspath(args.touchstone)
    checks = Checks()
    tmp = tempfile.mkdtemp(prefix="ts-capture-")
    os.chmod(tmp, 0o755)  # tshark may drop to another user to read the file
    try:
        with Topology("tsc%d" % os.getpid()) as t:
            port = "%s:%s" % (args.driver, t.ts_if)
            pcap = os.path.join(tmp, "serve.pcap")
            ok, out = serve_and_fetch(t, ts, port, pcap, tmp, [], FETCHES)
            c = parse_counters(out)
            frames = tshark(pcap, "-T", "fields", "-e", "frame.number")
            n = len(frames.stdout.split())
            want = c.get("port_rx_packets", -1) + c.get("port_tx_packets", -1)
            checks.check(ok == FETCHES and frames.returncode == 0 and n == want and
                         c.get("port_pcap_frames") == n and "port_pcap_dropped" not in c,
                         "serve --pcap: tshark reads %d frames = port_rx_packets + "
                         "port_tx_packets (%d), none dropped" % (n, want),
                         frames.stderr[-500:] + out[-2000:])
            reqs = tshark(pcap, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri")
            uris = sorted(reqs.stdout.split())
            checks.check(uris == sorted("/page%d" % i for i in range(FETCHES)),
                         "tshark finds the %d HTTP requests curl made, by URI" % FETCHES,
                         reqs.stdout[-500:] + reqs.stderr[-500:])
            resp = tshark(pcap, "-Y", "http.response.code == 200", "-T", "fields", "-e",
                          "frame.number")
            checks.check(len(resp.stdout.split()) == FETCHES,
                         "and the %d responses touchstone sent" % FETCHES, resp.stdout[-300:])
            syn = tshark(pcap, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0 && "
                         "ip.src == %s" % PEER_IP, "-T", "fields", "-e", "frame.number")
            checks.check(len(syn.stdout.split()) == FETCHES,
                         "and curl's %d SYNs (frames received)" % FETCHES, syn.stdout[-300:])

            # --pcap-snaplen and --pcap-count.
            cut = os.path.join(tmp, "cut.pcap")
            ok, out = serve_and_fetch(t, ts, port, cut, tmp,
                                      ["--pcap-snaplen", "64", "--pcap-count", "10"], 5)
            lens = tshark(cut, "-T", "fields", "-e", "frame.cap_len", "-e", "frame.len")
            rows = [tuple(map(int, l.split())) for l in lens.stdout.splitlines() if l.strip()]
            checks.check(ok == 5 and len(rows) == 10 and all(cl == min(64, fl) for cl, fl in rows)
                         and any(fl > 64 for _, fl in rows) and "10 frames written" in out,
                         "--pcap-count 10 --pcap-snaplen 64: 10 frames, each cut to 64 bytes "
                         "with its length on the wire kept", lens.stdout[-600:] + out[-800:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
