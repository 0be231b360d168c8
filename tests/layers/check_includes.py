#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer it may not use.

The layers and what each may include (docs/architecture.md, "Layers"):

    util, wire                  nothing of ours but util
    tcp                         wire
    stack                       tcp, wire
    hostcache, sim, workload    stack and below (not each other)
    drivers-glue                stack and below (beside the stack: it implements its Device)
    apps                        everything

util is used by every layer. Nothing under lib/ includes a DPDK header, and
only lib/hostcache includes TBB's. tests/ and bench/ are not checked: they
exercise every layer.

Usage: check_includes.py ROOT      check the tree at ROOT
       check_includes.py --self-test   check that violations are found
"""
import os
import re
import sys
import tempfile

BELOW_STACK = {"stack", "tcp", "wire", "util"}
ALLOWED = {
    "util": {"util"},
    "wire": {"wire", "util"},
    "tcp": {"tcp", "wire", "util"},
    "stack": BELOW_STACK,
    "hostcache": BELOW_STACK | {"hostcache"},
    "sim": BELOW_STACK | {"sim"},
    "workload": BELOW_STACK | {"workload"},
    "drivers-glue": BELOW_STACK | {"drivers-glue"},
}
OURS = set(ALLOWED) | {"apps"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(rel):
    parts = rel.split("/")
    if parts[0] == "lib" and len(parts) > 2:
        return parts[1]
    if parts[0] in ("drivers-glue", "apps"):
        return parts[0]
    return None  # tests, bench, tools: not checked


def violations(root):
    found = []
    for top in ("lib", "drivers-glue", "apps"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith((".cc", ".hh", ".h", ".cpp")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                layer = layer_of(rel)
                if layer is None or layer == "apps":
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        header = m.group(2)
                        first = header.split("/")[0]
                        where = f"{rel}:{lineno}: {layer} includes {header}"
                        if rel.startswith("lib/") and (header.startswith("rte_") or
                                                       first in ("dpdk", "rte")):
                            found.append(where + " (no DPDK under lib/)")
                        elif first == "tbb" and layer != "hostcache":
                            found.append(where + " (only lib/hostcache uses TBB)")
                        elif m.group(1) == '"' and first in OURS and first not in ALLOWED[layer]:
                            found.append(where + f" (may use: {', '.join(sorted(ALLOWED[layer]))})")
    return found


def self_test():
    cases = {
        "lib/wire/a.hh": '#include "tcp/connection.hh"\n',
        "lib/tcp/b.cc": '#include "stack/stack.hh"\n',
        "lib/sim/c.cc": '#include "workload/server.hh"\n',
        "lib/stack/d.cc": "#include <rte_mbuf.h>\n",
        "lib/stack/e.cc": "#include <tbb/concurrent_hash_map.h>\n",
        "drivers-glue/f.cc": '#include "hostcache/hostcache.hh"\n',
    }
    fine = {
        "lib/stack/ok.cc": '#include "tcp/connection.hh"\n#include "util/rng.hh"\n#include <vector>\n',
        "lib/hostcache/ok.cc": '#include "stack/path_cache.hh"\n#include <tbb/concurrent_hash_map.h>\n',
        "drivers-glue/ok.cc": '#include "stack/device.hh"\n#include <rte_mbuf.h>\n',
        "apps/ok.cc": '#include "workload/server.hh"\n#include "hostcache/hostcache.hh"\n',
    }
    with tempfile.TemporaryDirectory() as root:
        for rel, text in {**cases, **fine}.items():
            os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        found = violations(root)
    flagged = {v.split(":")[0] for v in found}
    missed = set(cases) - flagged
    wrong = flagged - set(cases)
    if missed or wrong:
        print("self-test failed: missed", sorted(missed), "wrongly flagged", sorted(wrong))
        return 1
    print(f"self-test: all {len(cases)} violations found, {len(fine)} clean files passed")
    return 0


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--self-test":
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    found = violations(sys.argv[1])
    for v in found:
        print(v)
    if found:
        print(f"{len(found)} include(s) cross the layers")
        return 1
    print("every include stays within its layer's allowance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
