#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target from tests/fixtures/frames.txt:
whole frames for ethernet and stack, and the layer each parser sees for the
others. Run from anywhere; rewrites tests/fuzz/corpus/."""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FRAMES = os.path.join(HERE, "..", "fixtures", "frames.txt")
OUT = os.path.join(HERE, "corpus")


def main():
    frames = []
    for line in open(FRAMES):
        if line.strip() and not line.startswith("#"):
            name, _, hexbytes = line.split()
            frames.append((name, bytes.fromhex(hexbytes)))
    shutil.rmtree(OUT, ignore_errors=True)
    seeds = {t: {} for t in ("ethernet", "arp", "ipv4", "icmp", "udp", "tcp", "stack")}
    for name, f in frames:
        seeds["ethernet"][name] = f
        etype = f[12:14] if len(f) >= 14 else b""
        l3 = f[14:]
        if etype == b"\x08\x06":
            seeds["arp"][name] = l3
        if etype == b"\x08\x00" and len(l3) >= 20:
            seeds["ipv4"][name] = l3
            ihl = (l3[0] & 0x0F) * 4
            l4 = l3[ihl:] if ihl >= 20 else b""
            proto = {1: "icmp", 17: "udp", 6: "tcp"}.get(l3[9])
            if proto and l4:
                seeds[proto][name] = l4
        # stack records: [time step ms][length][frame]
        seeds["stack"][name] = struct.pack("!BH", 1, len(f)) + f
    # One longer stack session: ARP, then every frame, with time passing.
    session = b"".join(struct.pack("!BH", 10, len(f)) + f for _, f in frames)
    seeds["stack"]["session_all_frames"] = session
    for target, files in seeds.items():
        d = os.path.join(OUT, target)
        os.makedirs(d)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as fh:
                fh.write(data)
    # Hand-made seeds kept in corpus_extra/ (structured inputs, like the
    # connection fuzzer's records) are copied as they are.
    extra = os.path.join(HERE, "corpus_extra")
    for target in sorted(os.listdir(extra)):
        d = os.path.join(OUT, target)
        shutil.copytree(os.path.join(extra, target), d, dirs_exist_ok=True)
        seeds.setdefault(target, {}).update({f: None for f in os.listdir(d)})
    print("corpus: " + ", ".join("%s %d" % (t, len(f)) for t, f in seeds.items()))


if __name__ == "__main__":
    main()
