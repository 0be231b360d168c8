"""Network namespaces joined by a veth pair, for tests against the Linux kernel.

Layout (all inside namespaces this module creates; nothing touches the host's
own interfaces or addresses):

    [ns <name>-peer]  veth <peer_if>  10.77.0.1/24   the Linux peer
            |
    [ns <name>-ts]    veth <ts_if>    (no address)   driven by touchstone (af_xdp/af_packet)

Offloads are off on both ends and IPv6 is disabled on them, so the peer sends
only what a test asks for plus ARP. Everything is removed on exit, on an
exception, and on SIGTERM/SIGINT (meson's timeout), and stale leftovers of the
same name are removed first.
"""
import os
import re
import signal
import subprocess
import sys
import time

PEER_IP = "10.77.0.1"
TS_IP = "10.77.0.2"
PREFIX = 24


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(77)  # meson's "skipped"


def require_environment(tools=("ip", "ethtool", "ping")):
    if os.geteuid() != 0:
        skip("interop tests need root (network namespaces, raw sockets)")
    for t in tools:
        if run(["sh", "-c", "command -v " + t], check=False).returncode != 0:
            skip("%s is not installed (tools/setup installs it)" % t)


def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


class Topology:
    def __init__(self, name):
        self.name = name
        self.peer_ns = name + "-peer"
        self.ts_ns = name + "-ts"
        tag = "%05d" % (os.getpid() % 100000)
        self.peer_if = "tsp" + tag
        self.ts_if = "tst" + tag
        self.procs = []

    def __enter__(self):
        signal.signal(signal.SIGTERM, _raise_exit)
        signal.signal(signal.SIGINT, _raise_exit)
        self._cleanup()
        try:
            run(["ip", "netns", "add", self.peer_ns])
            run(["ip", "netns", "add", self.ts_ns])
            run(["ip", "link", "add", self.peer_if, "type", "veth", "peer", "name", self.ts_if])
            run(["ip", "link", "set", self.peer_if, "netns", self.peer_ns])
            run(["ip", "link", "set", self.ts_if, "netns", self.ts_ns])
            for ns, ifname in ((self.peer_ns, self.peer_if), (self.ts_ns, self.ts_if)):
                self.ns(ns, ["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % ifname])
                self.ns(ns, ["ethtool", "-K", ifname, "tx", "off", "tso", "off", "gso", "off",
                             "gro", "off"], check=False)
                self.ns(ns, ["ip", "link", "set", ifname, "up"])
                self.ns(ns, ["ip", "link", "set", "lo", "up"])
            self.peer(["ip", "addr", "add", "%s/%d" % (PEER_IP, PREFIX), "dev", self.peer_if])
        except BaseException:
            self._cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self._cleanup()
        return False

    def _cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs = []
        for ns in (self.peer_ns, self.ts_ns):
            run(["ip", "netns", "del", ns], check=False)
        # A veth end left in the root namespace by an interrupted set-up.
        run(["ip", "link", "del", self.peer_if], check=False)
        run(["ip", "link", "del", self.ts_if], check=False)

    def ns(self, ns, cmd, check=True, timeout=60):
        return run(["ip", "netns", "exec", ns] + cmd, check=check, timeout=timeout)

    def peer(self, cmd, check=True, timeout=60):
        return self.ns(self.peer_ns, cmd, check=check, timeout=timeout)

    def start_nginx(self, tmp, root, port=8080, fastopen_port=None):
        """nginx in the peer namespace serving `root` on PEER_IP:port with one worker,
        logging every request (and on fastopen_port with TCP Fast Open, if given);
        returns the access log's path."""
        conf = os.path.join(tmp, "nginx.conf")
        access = os.path.join(tmp, "access.log")
        with open(conf, "w") as f:
            f.write("daemon off; worker_processes 1; pid %s/nginx.pid;\n"
                    "error_log %s/nginx-error.log;\n"
                    "events { worker_connections 1024; }\n"
                    "http { access_log %s; keepalive_requests 1000000;\n"
                    "  server { listen %s:%d; %s root %s; } }\n" %
                    (tmp, tmp, access, PEER_IP, port,
                     "listen %s:%d fastopen=256;" % (PEER_IP, fastopen_port)
                     if fastopen_port else "", root))
        nginx = subprocess.Popen(["ip", "netns", "exec", self.peer_ns, "nginx", "-c", conf],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        self.procs.append(nginx)
        time.sleep(1)
        return access

    def mac(self, ns, ifname):
        out = self.ns(ns, ["ip", "-o", "link", "show", ifname]).stdout
        return re.search(r"link/ether ([0-9a-f:]{17})", out).group(1)

    def start(self, cmd, log_path, ready=None, timeout=30):
        """Starts cmd in the touchstone namespace, its own process group, output to
        log_path; waits until `ready` (a regex) appears in the log."""
        log = open(log_path, "w")
        p = subprocess.Popen(["ip", "netns", "exec", self.ts_ns] + cmd, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        if ready:
            deadline = time.time() + timeout
            while time.time() < deadline:
                if p.poll() is not None:
                    raise RuntimeError("%s exited early:\n%s" % (cmd[0], open(log_path).read()))
                if re.search(ready, open(log_path).read()):
                    return p
                time.sleep(0.1)
            raise RuntimeError("%s not ready after %d s:\n%s" % (cmd[0], timeout,
                                                                 open(log_path).read()))
        return p

    def stop(self, p, log_path, timeout=15):
        """SIGTERM, then the log text; SIGKILL if it does not stop in time."""
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise RuntimeError("did not stop on SIGTERM within %d s" % timeout)
        return open(log_path).read()


def parse_counters(text):
    """Counter lines of touchstone's exit report: '  name  value  description'."""
    out = {}
    for m in re.finditer(r"^  ([a-z0-9_]+) +(\d+)  ", text, re.M):
        out[m.group(1)] = int(m.group(2))
    return out


class Checks:
    """Collects named checks; prints one line each and exits non-zero on failure."""

    def __init__(self):
        self.failed = 0

    def check(self, ok, what, detail=""):
        print(("ok   - " if ok else "FAIL - ") + what + ("" if ok or not detail else
                                                          ": " + detail))
        sys.stdout.flush()
        if not ok:
            self.failed += 1
        return ok

    def finish(self):
        if self.failed:
            print("%d check(s) failed" % self.failed)
            sys.exit(1)
        print("all checks passed")
