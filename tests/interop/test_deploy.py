#!/usr/bin/env python3
"""deploy/ansible/loadtest.yml on this machine (docs/distributed.md): an
inventory whose two generator hosts are network namespaces (ansible's local
connection, each host's command run with `ip netns exec`), one touchstone serve
in a third, all joined by a bridge in a fourth. The playbook installs the
binary, starts both generators at one wall-clock time (gen --start-at),
collects their JSON and merges it; the merged count must equal serve's own.

    [ns <tag>-g1] touchstone gen --\\
    [ns <tag>-g2] touchstone gen ----[ns <tag>-br] bridge
    [ns <tag>-srv] touchstone serve -/
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netns  # noqa: E402

REQUESTS = 3000  # per generator
SERVE_IP = "10.79.0.1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--touchstone", required=True)
    ap.add_argument("--playbook", required=True)
    args = ap.parse_args()
    netns.require_environment(tools=("ip", "ethtool", "ansible-playbook"))
    ts = os.path.abspath(args.touchstone)
    tag = "tsd%05d" % (os.getpid() % 100000)
    spaces = {k: "%s-%s" % (tag, k) for k in ("br", "srv", "g1", "g2")}
    ifs = {k: ("%s%s" % (tag, i), "%sb%s" % (tag, i)) for i, k in enumerate(("srv", "g1", "g2"))}
    checks = netns.Checks()
    procs = []

    def cleanup():
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for ns in spaces.values():
            netns.run(["ip", "netns", "del", ns], check=False)
        for inner, outer in ifs.values():
            netns.run(["ip", "link", "del", inner], check=False)

    def raise_exit(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, raise_exit)
    signal.signal(signal.SIGINT, raise_exit)
    tmp = tempfile.mkdtemp(prefix="ts-deploy-")
    cleanup()
    try:
        for ns in spaces.values():
            netns.run(["ip", "netns", "add", ns])
        br = spaces["br"]
        netns.run(["ip", "netns", "exec", br, "ip", "link", "add", "br0", "type", "bridge"])
        netns.run(["ip", "netns", "exec", br, "ip", "link", "set", "br0", "up"])
        for k, (inner, outer) in ifs.items():
            netns.run(["ip", "link", "add", inner, "type", "veth", "peer", "name", outer])
            netns.run(["ip", "link", "set", inner, "netns", spaces[k]])
            netns.run(["ip", "link", "set", outer, "netns", br])
            netns.run(["ip", "netns", "exec", br, "ip", "link", "set", outer, "master", "br0"])
            netns.run(["ip", "netns", "exec", br, "ip", "link", "set", outer, "up"])
            for ns, ifname in ((spaces[k], inner), (br, outer)):
                netns.run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                           "net.ipv6.conf.%s.disable_ipv6=1" % ifname], check=False)
                netns.run(["ip", "netns", "exec", ns, "ethtool", "-K", ifname, "tx", "off", "tso",
                           "off", "gso", "off", "gro", "off"], check=False)
            netns.run(["ip", "netns", "exec", spaces[k], "ip", "link", "set", inner, "up"])

        # The target: one touchstone serve (echo), on the first CPU.
        serve_log = os.path.join(tmp, "serve.log")
        serve = subprocess.Popen(
            ["timeout", "-s", "TERM", "170", "ip", "netns", "exec", spaces["srv"], ts, "serve",
             "--port", "af_packet:" + ifs["srv"][0], "--ip", SERVE_IP + "/24", "--app", "echo",
             "--lcores", "0-0", "--progress", "0"],
            stdout=open(serve_log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(serve)
        deadline = time.time() + 30
        while time.time() < deadline and "echo on TCP" not in open(serve_log).read():
            if serve.poll() is not None:
                break
            time.sleep(0.2)

        # The inventory: two hosts that are namespaces.
        inv = os.path.join(tmp, "inventory.ini")
        with open(inv, "w") as f:
            f.write("[generators]\n")
            for i, k in enumerate(("g1", "g2")):
                f.write("%s ansible_connection=local touchstone_exec_prefix='ip netns exec %s' "
                        "touchstone_port=af_packet:%s touchstone_ip=10.79.0.%d/24 "
                        "touchstone_remote_result=%s/%s.json\n" %
                        (k, spaces[k], ifs[k][0], i + 2, tmp, k))
            f.write("\n[generators:vars]\nansible_python_interpreter=/usr/bin/python3\n")
        results = os.path.join(tmp, "results")
        extra = {
            "touchstone_binary": ts,
            "touchstone_bin": os.path.join(tmp, "bin", "touchstone"),
            "touchstone_merge_bin": ts,
            "touchstone_become": False,
            "touchstone_install_packages": False,
            "touchstone_hugepages": 0,
            "touchstone_target": SERVE_IP + ":7",
            "touchstone_duration": "60s",
            # Ansible starts the two gens one after the other; under CI load
            # reaching the second took over 6 s once, so it started late.
            "touchstone_start_delay": 15,
            "touchstone_timeout_s": 120,
            "touchstone_results_dir": results,
            "touchstone_gen_args": "--mode rr --conns 4 --requests %d --lcores 1-1" % REQUESTS,
        }
        os.makedirs(os.path.join(tmp, "bin"))
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "ansible-local"),
                   ANSIBLE_REMOTE_TEMP=os.path.join(tmp, "ansible-remote"))
        p = subprocess.run(["timeout", "150", "ansible-playbook", "-i", inv, args.playbook,
                            "-e", json.dumps(extra)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        checks.check(p.returncode == 0, "ansible-playbook loadtest.yml ran on the two namespace hosts",
                     p.stdout[-3000:])
        installed = os.path.join(tmp, "bin", "touchstone")
        checks.check(os.access(installed, os.X_OK), "the install play copied touchstone")

        # serve's own count, from its summary on SIGTERM.
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
        text = open(serve_log).read()
        m = re.search(r"requests\s+(\d+)", text)
        served = int(m.group(1)) if m else -1
        merged_path = os.path.join(results, "merged.json")
        merged = json.load(open(merged_path)) if os.path.exists(merged_path) else {}
        inputs = merged.get("inputs", [])
        starts = [i.get("start_unix_s", 0) for i in inputs]
        checks.check(len(inputs) == 2 and merged.get("responses_ok") == 2 * REQUESTS == served,
                     "merged responses (%s) = 2 x %d = serve's own count (%s)" %
                     (merged.get("responses_ok"), REQUESTS, served),
                     text[-1500:] + json.dumps(merged)[:1000])
        gen_logs = ""
        for k in ("g1", "g2"):
            path = os.path.join(tmp, k + ".json.log")
            if os.path.exists(path):
                gen_logs += "%s: %s\n" % (k, open(path).read()[-600:])
        checks.check(len(starts) == 2 and abs(starts[0] - starts[1]) < 0.5,
                     "both generators started at the agreed time (%.3f s apart)" %
                     (abs(starts[0] - starts[1]) if len(starts) == 2 else -1), gen_logs)
        checks.check(merged.get("ok") is True and merged.get("latency_histogram", {}).get("count")
                     == 2 * REQUESTS,
                     "the merged result is ok, its histogram holds every response")
    finally:
        cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
