#!/usr/bin/env python3
"""gen --config with a traffic mix against nginx in a Linux namespace: two
HTTP workloads at once (keep-alive at one rate, a connection per request at
another), each on a core of its own, reported per workload and in total; the
totals must match what nginx logged. The same file's top-level keys are
overridden by the command line."""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from netns import PEER_IP, TS_IP, Checks, Topology, require_environment  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchstone", required=True)
    ap.add_argument("--driver", choices=("af_xdp", "af_packet"), default="af_xdp")
    args = ap.parse_args()
    require_environment(tools=("ip", "ethtool", "nginx"))
    ts = os.path.abspath(args.touchstone)
    checks = Checks()
    tmp = tempfile.mkdtemp(prefix="ts-mix-")
    os.chmod(tmp, 0o755)  # nginx's workers read the files as another user
    try:
        with Topology("tsm%d" % os.getpid()) as t:
            www = os.path.join(tmp, "www")
            os.makedirs(www)
            with open(os.path.join(www, "index.html"), "wb") as f:
                f.write(b"m" * 512)
            access = t.start_nginx(tmp, www)
            conf = os.path.join(tmp, "mix.toml")
            out = os.path.join(tmp, "mix.json")
            with open(conf, "w") as f:
                f.write('port = "%s:%s"\nip = "%s/24"\ntarget = "%s:8080"\n'
                        'duration = "30s"   # the command line says 3s\n'
                        '\n'
                        '[[workload]]\nname = "keepalive"\nmode = "http"\nconns = 4\n'
                        'rate = 2000\ncores = "50%%"\n\n'
                        '[[workload]]\nname = "close"\nmode = "http"\nclose = true\n'
                        'conns = 4\nrate = 300\n' % (args.driver, t.ts_if, TS_IP, PEER_IP))
            r = t.ns(t.ts_ns, ["timeout", "60", ts, "gen", "--config", conf, "--duration", "3s",
                               "--lcores", "2", "--json", out], check=False, timeout=70)
            res = json.load(open(out)) if os.path.exists(out) else {}
            ws = {w.get("name"): w for w in res.get("workloads", [])}
            ka, cl = ws.get("keepalive", {}), ws.get("close", {})
            total = res.get("total", {})
            checks.check(r.returncode == 0 and res.get("mode") == "mix" and
                         ka.get("mode") == "http" and cl.get("mode") == "http" and
                         ka.get("cores") == 1 and cl.get("cores") == 1 and
                         abs(res.get("duration_s", 0) - 3) < 0.5,
                         "gen --config: a mix of two workloads, a core each, for the command "
                         "line's 3 s (not the file's 30 s)", r.stdout[-2500:])
            ka_ok, cl_ok = ka.get("responses_ok", 0), cl.get("responses_ok", 0)
            checks.check(abs(ka_ok - 6000) < 600 and abs(cl_ok - 900) < 150 and
                         ka.get("connections", {}).get("established") == 4 and
                         cl.get("connections", {}).get("established", 0) >= cl_ok and
                         ka.get("failure") is None and cl.get("failure") is None,
                         "each workload at its own rate: keep-alive %d responses (2000/s), "
                         "a connection per request %d (300/s)" % (ka_ok, cl_ok),
                         json.dumps({k: {x: w.get(x) for x in ("rps", "responses_ok",
                                                              "connections", "failure")}
                                     for k, w in ws.items()}))
            logged = sum(1 for _ in open(access)) if os.path.exists(access) else -1
            checks.check(total.get("responses_ok") == ka_ok + cl_ok == logged and
                         sum(i["responses_ok"] for i in res.get("intervals", [])) == logged,
                         "the total (%s) is the workloads' sum, and nginx logged as many (%d)"
                         % (total.get("responses_ok"), logged))
            lines = [l for l in r.stdout.splitlines() if l.startswith("[")]
            checks.check(any("keepalive:" in l for l in lines) and
                         any("close:" in l for l in lines),
                         "a progress line per workload and interval", "\n".join(lines[:6]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
