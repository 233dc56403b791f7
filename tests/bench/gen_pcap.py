#!/usr/bin/python3
"""Write the benchmark's pcap: minimum-size IPv4/UDP frames, many flows.

    gen_pcap.py --out FILE --dst-mac MAC [--flows N] [--src-mac MAC]
                [--dst-file FILE]

Every frame is 60 bytes as captured (64 on the wire with the FCS): Ethernet,
IPv4 (20 bytes, TTL 64, valid checksum), UDP (8 bytes, valid checksum) and
18 bytes of payload. Flow i goes from 198.51.100.x to 203.0.113.y with its own
UDP source port, so N frames are N distinct 5-tuples. 198.51.100.1 (the
dataplane's own address) and .255 (the subnet broadcast) never appear, so
every frame is routed by the fast path, none is punted. The destination MAC
must be the MAC of the port that receives them, or they are dropped as
not_for_us. With --dst-file, flow i goes to the i-th address of FILE (one
IPv4 address a line, reused in turn) instead of 203.0.113.y.

Run it with Debian's /usr/bin/python3 (it needs python3-scapy).
"""

import argparse
import re
import sys

MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


def mac(text):
    if not MAC_RE.match(text):
        raise argparse.ArgumentTypeError(f"not a MAC address: {text!r}")
    return text.lower()


def flows(text):
    n = int(text)
    if not 1 <= n <= 65535:
        raise argparse.ArgumentTypeError("flows: 1 to 65535")
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="pcap file to write")
    ap.add_argument("--dst-mac", required=True, type=mac,
                    help="MAC of the receiving port")
    ap.add_argument("--src-mac", default="02:00:00:00:00:02", type=mac,
                    help="source MAC (default: the bench's next hop)")
    ap.add_argument("--flows", default=256, type=flows,
                    help="distinct 5-tuples, one frame each (default 256)")
    ap.add_argument("--dst-file",
                    help="destination addresses, one a line (default 203.0.113.y)")
    args = ap.parse_args()
    dsts = None
    if args.dst_file:
        with open(args.dst_file) as f:
            dsts = [line.strip() for line in f if line.strip()]
        if not dsts:
            print(f"gen_pcap: no address in {args.dst_file}", file=sys.stderr)
            return 1

    try:
        from scapy.layers.inet import IP, UDP
        from scapy.layers.l2 import Ether
        from scapy.packet import Raw
        from scapy.utils import wrpcap
    except ImportError as e:
        print(f"gen_pcap: scapy is missing ({e}); install python3-scapy "
              "and run with /usr/bin/python3", file=sys.stderr)
        return 1

    frames = []
    for i in range(args.flows):
        src = f"198.51.100.{2 + i % 253}"          # .2 .. .254
        dst = f"203.0.113.{1 + (i * 7) % 254}"      # .1 .. .254, spread
        if dsts:
            dst = dsts[i % len(dsts)]
        frame = (Ether(dst=args.dst_mac, src=args.src_mac) /
                 IP(src=src, dst=dst, ttl=64) /
                 UDP(sport=1024 + i, dport=9) /
                 Raw(b"\x00" * 18))
        frame = Ether(bytes(frame))  # freeze lengths and checksums
        if len(frame) != 60:
            print(f"gen_pcap: frame {i} is {len(frame)} bytes, not 60",
                  file=sys.stderr)
            return 1
        frames.append(frame)
    wrpcap(args.out, frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
