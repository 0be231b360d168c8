#!/usr/bin/env python3
"""Results over time and the tools around them (docs/json.md): the JSON's
intervals and exact histograms, the HdrHistogram log read by HdrHistogram's own
HistogramLogProcessor, touchstone merge and plot, stats --prometheus and
--metrics-file checked by promtool, and the bad input of each."""
import glob
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

TS = sys.argv[1]
failed = 0
HDR_JAR = next(iter(glob.glob("/usr/share/java/hdrhistogram.jar") +
                    glob.glob("/usr/share/java/HdrHistogram*.jar")), None)


def check(ok, what, detail=""):
    global failed
    print(("ok   - " if ok else "FAIL - ") + what + ("" if ok or not detail else "\n" + detail))
    sys.stdout.flush()
    if not ok:
        failed += 1


def skip(what, why):
    print("skip - %s: %s" % (what, why))


def run(args, timeout=60):
    return subprocess.run([TS] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def bad(args, want, what):
    r = run(args)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == 2 and len(lines) == 1 and want in r.stderr,
          "%s: exit 2, one line naming the problem" % what,
          "exit %d\n%s%s" % (r.returncode, r.stdout[-500:], r.stderr[-500:]))


def quantile(buckets, count, lo_hi, q, mn, mx):
    """touchstone's quantile rule: the midpoint of the bucket holding rank
    ceil(q * count), clamped to the exact min and max."""
    rank = max(1, math.ceil(q * count))
    seen = 0
    for low, n in buckets:
        seen += n
        if seen >= rank:
            lo, hi = lo_hi(low)
            return min(max(lo + (hi - lo) // 2, mn), mx)
    return mx


def bucket_range(low):
    """A bucket's [low, high] from its low edge (sub_bits 7)."""
    if low < 128:
        return low, low
    shift = low.bit_length() - 1 - 7
    return low, low + (1 << shift) - 1


def hist_summary_us(h):
    return {k: quantile(h["buckets"], h["count"], bucket_range, q, h["min"], h["max"]) / 1e3
            for k, q in (("p50", 0.5), ("p99", 0.99), ("p99_9", 0.999))}


tmp = tempfile.mkdtemp(prefix="ts-results-")
try:
    # --- intervals and exact histograms in gen/demo's JSON ---
    a = os.path.join(tmp, "a.json")
    alog = os.path.join(tmp, "a.hlog")
    r = run(["demo", "--mode", "rr", "--conns", "4", "--duration", "3s", "--progress", "500ms",
             "--json", a, "--hdr-log", alog], timeout=60)
    res = json.load(open(a)) if os.path.exists(a) else {}
    ivs = res.get("intervals", [])
    h = res.get("latency_histogram", {})
    check(r.returncode == 0 and res.get("interval_s") == 0.5 and len(ivs) >= 6 and
          sum(i["responses_ok"] for i in ivs) == res.get("responses_ok") and
          h.get("count") == res.get("responses_ok") and
          sum(n for _, n in h.get("buckets", [])) == h.get("count") and
          all(i["end_s"] > i["start_s"] for i in ivs) and
          all(ivs[k]["start_s"] == ivs[k - 1]["end_s"] for k in range(1, len(ivs))),
          "demo --json: intervals of 0.5 s (--progress) covering the run, their responses adding "
          "up to the total; the histogram's buckets add up to the responses",
          r.stdout[-800:] + r.stderr[-800:] + json.dumps(ivs)[:800])
    if h.get("buckets"):
        mine = hist_summary_us(h)
        lat = res.get("latency_us", {})
        check(all(abs(mine[k] - lat.get(k, -1)) < 1e-6 for k in mine),
              "the latency percentiles are those of the exported histogram (recomputed here)",
              "%s vs %s" % (mine, lat))
        check(all(i["latency_histogram"]["count"] == i["responses_ok"] for i in ivs),
              "each interval's histogram counts that interval's responses",
              json.dumps([(i["latency_histogram"]["count"], i["responses_ok"]) for i in ivs]))

    # The HdrHistogram log, read by HdrHistogram's own tool.
    java = shutil.which("java")
    if not java or not HDR_JAR:
        skip("HistogramLogProcessor reads --hdr-log",
             "java or HdrHistogram's jar is missing (tools/setup installs default-jre-headless "
             "and libhdrhistogram-java)")
    elif os.path.exists(alog):
        out = os.path.join(tmp, "hp")
        p = subprocess.run([java, "-cp", HDR_JAR, "org.HdrHistogram.HistogramLogProcessor",
                            "-i", alog, "-o", out, "-outputValueUnitRatio", "1000"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
        hgrm = open(out + ".hgrm").read() if os.path.exists(out + ".hgrm") else ""
        total = [l for l in hgrm.splitlines() if "Total count" in l]
        count = int(total[0].split("=")[-1].strip().rstrip("]")) if total else -1
        # The 50th percentile line: value (us), percentile, count.
        p50 = None
        for l in hgrm.splitlines():
            f = l.split()
            if len(f) >= 3 and f[1].startswith("0.5000"):
                p50 = float(f[0])
                break
        check(p.returncode == 0 and count == h.get("count") and p50 is not None and
              abs(p50 - res["latency_us"]["p50"]) <= 0.01 * res["latency_us"]["p50"] + 0.01,
              "HistogramLogProcessor reads --hdr-log: the same count (%s) and p50 within a "
              "bucket (%s us vs %s us)" % (count, p50, res.get("latency_us", {}).get("p50")),
              p.stdout[-1500:] + hgrm[-1500:])
    else:
        check(False, "--hdr-log wrote its file", r.stdout[-500:] + r.stderr[-500:])

    # --- merge ---
    b = os.path.join(tmp, "b.json")
    run(["demo", "--mode", "rr", "--conns", "2", "--duration", "2s", "--progress", "500ms",
         "--json", b], timeout=60)
    m = os.path.join(tmp, "m.json")
    mlog = os.path.join(tmp, "m.hlog")
    r = run(["merge", a, b, "--json", m, "--hdr-log", mlog])
    ra = res
    rb = json.load(open(b)) if os.path.exists(b) else {}
    rm = json.load(open(m)) if os.path.exists(m) else {}
    buckets = {}
    for x in (ra, rb):
        for low, n in x.get("latency_histogram", {}).get("buckets", []):
            buckets[low] = buckets.get(low, 0) + n
    mh = rm.get("latency_histogram", {})
    check(r.returncode == 0 and rm.get("command") == "merge" and
          rm.get("responses_ok") == ra.get("responses_ok", 0) + rb.get("responses_ok", 0) and
          rm.get("connections", {}).get("established") ==
          ra.get("connections", {}).get("established", 0) +
          rb.get("connections", {}).get("established", 0) and
          rm.get("counters", {}).get("gen", {}).get("tcp_segs_out") ==
          ra["counters"]["gen"]["tcp_segs_out"] + rb["counters"]["gen"]["tcp_segs_out"] and
          dict((lo, n) for lo, n in mh.get("buckets", [])) == buckets and
          [i["file"] for i in rm.get("inputs", [])] == [a, b],
          "merge: counts added, counters added, histograms merged bucket by bucket, inputs listed",
          r.stdout[-800:] + r.stderr[-800:])
    if mh.get("buckets"):
        mine = hist_summary_us(mh)
        check(all(abs(mine[k] - rm["latency_us"][k]) < 1e-6 for k in mine),
              "merge: the merged p50/p99/p99.9 are exact (from the merged buckets: %s)" % mine,
              json.dumps(rm.get("latency_us")))
        check(sum(i["responses_ok"] for i in rm.get("intervals", [])) == rm.get("responses_ok") and
              abs(rm.get("rps", 0) - ra.get("rps", 0) - rb.get("rps", 0)) < 1e-6 * rm.get("rps", 1),
              "merge: intervals aligned by wall time keep every response; rates add up",
              json.dumps(rm.get("intervals", []))[:800])
    check(r.returncode == 0 and os.path.exists(mlog) and
          open(mlog).read().count("\n") >= 5,
          "merge --hdr-log writes the merged intervals' log")
    r = run(["merge", a, b])
    check(r.returncode == 0 and "responses_ok" in r.stdout and "p99" in r.stdout,
          "merge without --json prints a summary", r.stdout + r.stderr)
    # Refusals.
    c = os.path.join(tmp, "c.json")
    run(["demo", "--mode", "cps", "--requests", "200", "--json", c, "--quiet"], timeout=60)
    bad(["merge", a, c], "mixed modes", "merge of rr and cps results")
    bad(["merge", a, os.path.join(tmp, "none.json")], "cannot read", "merge of a missing file")
    junk = os.path.join(tmp, "junk.json")
    open(junk, "w").write("{not json")
    bad(["merge", a, junk], "is not JSON", "merge of a file that is not JSON")
    other = os.path.join(tmp, "other.json")
    json.dump({"tool": "touchstone", "command": "stats"}, open(other, "w"))
    bad(["merge", a, other], "not the result of touchstone gen", "merge of a stats result")
    bad(["merge"], "needs the JSON results", "merge of nothing")
    bad(["merge", a, "--hdr-log", "-"], "--hdr-log needs a file", "merge --hdr-log -")

    # --- plot ---
    png = os.path.join(tmp, "p.png")
    if not shutil.which("gnuplot"):
        skip("plot", "gnuplot is not installed (tools/setup installs gnuplot-nox)")
    else:
        r = run(["plot", a, b, "-o", png], timeout=60)
        ok = os.path.exists(png) and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
        check(r.returncode == 0 and ok and os.path.getsize(png) > 20000,
              "plot of two results writes a PNG", r.stdout + r.stderr)
        png2 = os.path.join(tmp, "m.png")
        r = run(["plot", m, "-o", png2, "--title", "merged"], timeout=60)
        check(r.returncode == 0 and os.path.exists(png2), "plot of a merged result",
              r.stdout + r.stderr)
        bad(["plot", a], "needs -o", "plot without -o")
        bad(["plot", a, "-o", os.path.join(tmp, "p.svg")], "PNG", "plot -o FILE.svg")
        bad(["plot", a, c, "-o", png], "mixed modes", "plot of rr and cps together")
        bad(["plot", junk, "-o", png], "is not JSON", "plot of a file that is not JSON")

    # --- --pcap under full load: every frame captured or counted as left out ---
    if not shutil.which("capinfos"):
        skip("demo --pcap", "capinfos is not installed (tools/setup installs tshark)")
    else:
        cap = os.path.join(tmp, "demo.pcap")
        r = run(["demo", "--mode", "rr", "--conns", "8", "--requests", "200000", "--pcap", cap],
                timeout=60)
        gen_part = r.stdout.split("gen counters:")[-1].split("serve counters:")[0]
        g = {}
        for line in gen_part.splitlines():
            f = line.split()
            if len(f) >= 2 and f[1].isdigit():
                g[f[0]] = int(f[1])
        info = subprocess.run(["capinfos", "-M", "-c", cap], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)
        n = -1
        for line in info.stdout.splitlines():
            if "Number of packets" in line:
                n = int(line.split()[-1])
        check(r.returncode == 0 and n == g.get("port_pcap_frames", -1) and
              g.get("port_pcap_frames", 0) + g.get("port_pcap_dropped", 0) ==
              g.get("port_rx_packets", 0) + g.get("port_tx_packets", 0) and
              "capture: %d frames written" % n in r.stdout,
              "demo --pcap at full load: capinfos counts the %d frames written; written + left "
              "out (%d) = the gen port's frames (%d)" % (n, g.get("port_pcap_dropped", 0),
                                                         g.get("port_rx_packets", 0) +
                                                         g.get("port_tx_packets", 0)),
              r.stdout[-1500:] + info.stdout + info.stderr[-300:])

    # --- bad input of the new flags ---
    bad(["demo", "--pcap", "-"], "--pcap needs a file", "demo --pcap -")
    bad(["demo", "--pcap-snaplen", "100"], "--pcap-snaplen", "demo --pcap-snaplen without --pcap")
    bad(["demo", "--pcap", os.path.join(tmp, "x.pcap"), "--pcap-snaplen", "10"], "64 to 262144",
        "demo --pcap-snaplen 10")
    bad(["demo", "--pcap", os.path.join(tmp, "x.pcap"), "--pcap-count", "0"], "--pcap-count",
        "demo --pcap-count 0")
    bad(["serve", "--port", "af_xdp:lo", "--ip", "10.9.0.1/24", "--pcap-count", "5"],
        "--pcap-count", "serve --pcap-count without --pcap")
    bad(["demo", "--hdr-log", "-"], "--hdr-log needs a file", "demo --hdr-log -")
    bad(["demo", "--hdr-log", "/nonexistent-dir/x.hlog"], "--hdr-log", "demo --hdr-log in a "
        "missing directory")
    bad(["demo", "--metrics-file", "-"], "--metrics-file needs a file", "demo --metrics-file -")
    bad(["demo", "--metrics-file", "/nonexistent-dir/m.prom"], "--metrics-file",
        "demo --metrics-file in a missing directory")
    gen = ["gen", "--port", "af_xdp:lo", "--ip", "10.9.0.2/24", "--target", "10.9.0.1:80"]
    bad(gen + ["--start-at", "yesterday"], "--start-at", "gen --start-at yesterday")
    bad(gen + ["--start-at", "2020-01-01T00:00:00Z"], "in the past", "gen --start-at in the past")
    bad(gen + ["--start-at", "2030-01-01T00:00:00"], "time zone", "gen --start-at without a zone")
    bad(gen + ["--start-at", "+3d"], "--start-at", "gen --start-at +3d (a day at most)")
    bad(["stats", "--prometheus", "--json"], "--json", "stats --prometheus --json")

    # --- gen --config: the file's errors name their line and key ---
    def conf(name, text):
        path = os.path.join(tmp, name)
        open(path, "w").write(text)
        return path
    base = ["gen", "--port", "af_xdp:lo", "--ip", "10.9.0.2/24", "--target", "10.9.0.1:80"]
    f = conf("c1.toml", 'ip = "10.9.0.2/24"\nduraton = "2s"\n')
    bad(["gen", "--config", f, "--port", "af_xdp:lo", "--target", "10.9.0.1:80"],
        "c1.toml:2: unknown key 'duraton'", "gen --config with a misspelt key")
    f = conf("c2.toml", 'mode = "rr"\nrate = "1k\n')
    bad(base + ["--config", f], "c2.toml:2:", "gen --config with a TOML syntax error")
    f = conf("c3.toml", '[[workload]]\nmode = "rr"\n\n[[workload]]\nmode = "bogus"\n')
    bad(base + ["--config", f, "--lcores", "2"], "c3.toml:4: workload 'workload2': --mode 'bogus'",
        "gen --config with a bad mode in its second workload")
    f = conf("c4.toml", '[[workload]]\nmode = "rr"\njson = "x.json"\n')
    bad(base + ["--config", f], "'json' belongs to the whole run", "gen --config: json in a workload")
    f = conf("c5.toml", '[[workload]]\nmode = "rr"\nheader = ["A: b"]\n')
    bad(base + ["--config", f], "--header does not apply", "gen --config: a flag the workload's "
        "mode does not take")
    f = conf("c6.toml", '[[workload]]\nmode = "rr"\n[[workload]]\nmode = "cps"\n'
             '[[workload]]\nmode = "http"\n')
    bad(base + ["--config", f, "--lcores", "2"], "needs at least 3 cores",
        "gen --config: three workloads on two cores")
    f = conf("c7.toml", '[[workload]]\nmode = "rr"\ncores = 2\n[[workload]]\nmode = "cps"\n')
    bad(base + ["--config", f, "--lcores", "2"], "add up to 2",
        "gen --config: workloads asking for more cores than the run has")
    f = conf("c8.toml", 'rate = [1, 2]\n')
    bad(base + ["--config", f], "takes one value, not a list", "gen --config: a list for --rate")
    bad(base + ["--config", os.path.join(tmp, "none.toml")], "could not be opened",
        "gen --config of a missing file")
    bad(["gen", "--ip", "10.9.0.2/24", "--target", "10.9.0.1:80"], "--port is required",
        "gen without --port")
    # The command line overrides the file: the file's bad --duration is never read.
    f = conf("c9.toml", 'duration = "5x"\n')
    bad(base + ["--config", f], "--duration '5x'", "gen --config: the file's bad duration")
    r = run(base + ["--config", f, "--duration", "1s", "--rate", "0"])
    check(r.returncode == 2 and "--duration" not in r.stderr and "--rate" in r.stderr,
          "gen --config: --duration on the command line overrides the file's",
          r.stderr)
    mixres = os.path.join(tmp, "mixres.json")
    json.dump({"tool": "touchstone", "command": "gen", "mode": "mix", "intervals": [],
               "start_unix_s": 0}, open(mixres, "w"))
    bad(["merge", a, mixres], "traffic mix", "merge of a traffic mix's result")

    # --- Prometheus: stats --prometheus and --metrics-file, checked by promtool ---
    promtool = shutil.which("promtool")
    prom = os.path.join(tmp, "metrics.prom")
    p = subprocess.Popen([TS, "demo", "--duration", "30s", "--conns", "4",
                          "--metrics-file", prom, "--progress", "500ms"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        text = ""
        deadline = time.time() + 15
        while time.time() < deadline:
            r = run(["stats", "--pid", str(p.pid), "--prometheus"], timeout=20)
            if r.returncode == 0 and "touchstone_tcp_conn_established_total{role=\"gen\"" in r.stdout:
                text = r.stdout
                if os.path.exists(prom):
                    break
            time.sleep(0.5)
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        frames = [v for k, v in samples.items()
                  if k.startswith("touchstone_frames_total{") and 'direction="rx"' in k]
        check(len(frames) == 2 and all(v > 0 for v in frames) and
              samples.get('touchstone_core_up{role="gen",lcore="0"}') == 1 and
              any(k.startswith("touchstone_info{command=\"demo\"") for k in samples) and
              "# TYPE touchstone_tcp_segs_total counter" in text,
              "stats --prometheus: touchstone_* counters per core (role, lcore) with a direction "
              "label, HELP and TYPE lines", text[:1500])
        if not promtool:
            skip("promtool check metrics", "promtool is not installed (tools/setup installs "
                 "prometheus)")
        else:
            pc = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            check(pc.returncode == 0 and text, "promtool check metrics accepts stats --prometheus",
                  pc.stdout[-1500:])
        first = open(prom).read() if os.path.exists(prom) else ""
        m1 = os.stat(prom).st_mtime_ns if os.path.exists(prom) else 0
        time.sleep(1.5)
        second = open(prom).read() if os.path.exists(prom) else ""
        m2 = os.stat(prom).st_mtime_ns if os.path.exists(prom) else 0
        check(first and second and m2 > m1 and first != second and
              not glob.glob(prom + ".tmp.*"),
              "--metrics-file is rewritten every interval (atomically: no temporary left)",
              first[:300])
        if promtool and second:
            pc = subprocess.run([promtool, "check", "metrics"], input=second, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            check(pc.returncode == 0, "promtool check metrics accepts the --metrics-file",
                  pc.stdout[-1500:])
    finally:
        p.terminate()
        try:
            p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
finally:
    shutil.rmtree(tmp, ignore_errors=True)

print("%d failed" % failed if failed else "all passed")
sys.exit(1 if failed else 0)
