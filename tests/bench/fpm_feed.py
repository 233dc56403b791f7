#!/usr/bin/python3
"""Feed cuco-dataplane's FPM listener a large route table, as zebra would.

    fpm_feed.py send PREFIX --v6 N --v4 N --oif IFINDEX --gw4 ADDR --gw6 ADDR
                [--port 2620] [--seed S] [--timeout SECONDS]
    fpm_feed.py dst4 FILE --v4 N [--seed S]

Makes N IPv6 and N IPv4 distinct prefixes (below), encodes each as an FPM
frame (header {version 1, type 1 netlink, length}, one RTM_NEWROUTE in the
main table, protocol bgp, RTA_DST, RTA_GATEWAY, RTA_OIF), then on ONE
connection to 127.0.0.1 PORT (run it in the dataplane's network namespace)
sends all the IPv6 frames, waits until the dataplane has them all in force
(/cuco/routes over the telemetry socket of file prefix PREFIX), then does
the same with the IPv4 frames. One connection: a second one would be a new
feed, after which the first one's routes would be swept.

The clock runs from the first byte sent to the first telemetry answer that
shows every route in force (polled every 50 ms). Prints shell assignments:
v6_routes, v6_seconds, v6_rate (routes/s) and v6_quarters (seconds for each
quarter of the routes), the same for v4, and encode_seconds.

'dst4' writes 4096 IPv4 addresses inside the routes 'send' makes with the
same --v4 and --seed, one a line, for the pcap (gen_pcap.py --dst-file).

Prefixes (deterministic for a seed), shaped like a full Internet table:
  IPv4  lengths as in a full table (/24 60 %, /22 12 %, /23 9.5 %, /21 to
        /16 and a few shorter); random prefixes of 1.0.0.0 to 223.255.255.255
        except 0/8, 10/8, 127/8, 198.51.100/24 and 203.0.113/24 (the
        bench's own). They are not documentation prefixes: 1M do not fit in
        those. They exist only in the dataplane's FIB, in the bench's
        namespace; frames to them go out of a pcap port that writes nothing.
  IPv6  clustered like a full table: random /32 allocations in 2001::/16,
        2400::/12, 2600::/12 and 2a00::/12, each with its /32 and a few /36,
        /40, /44 and mostly /48 inside (rte_lpm6 needs few tbl8 groups for
        clustered prefixes, as for a real table).

Only the Python standard library. Exit status 0, or 1 with one line on stderr.
"""

import argparse
import ipaddress
import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import telemetry  # noqa: E402

RTM_NEWROUTE = 24
RTPROT_BGP = 186
RT_TABLE_MAIN = 254
RTA_DST, RTA_OIF, RTA_GATEWAY = 1, 4, 5

# share per mille of each IPv4 prefix length in a full table
V4_LENGTHS = {24: 600, 23: 95, 22: 120, 21: 45, 20: 42, 19: 26, 18: 14, 17: 8,
              16: 14, 15: 5, 14: 5, 13: 4, 12: 3, 11: 2, 10: 1, 9: 1, 8: 1}
V4_EXCLUDE = [ipaddress.ip_network(n) for n in
              ("0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "198.51.100.0/24",
               "203.0.113.0/24")]
V6_BLOCKS = [ipaddress.ip_network(n) for n in
             ("2001::/16", "2400::/12", "2600::/12", "2a00::/12")]


def v4_prefixes(n, rng):
    lens = [length for length, share in V4_LENGTHS.items() for _ in range(share)]
    exclude = [(int(x.network_address), int(x.broadcast_address)) for x in V4_EXCLUDE]
    seen = set()
    while len(seen) < n:
        length = rng.choice(lens)
        addr = rng.randrange(1 << 24, 224 << 24) & ~((1 << (32 - length)) - 1)
        last = addr | ((1 << (32 - length)) - 1)
        if (addr, length) in seen or any(addr <= b and last >= a for a, b in exclude):
            continue
        seen.add((addr, length))
    out = list(seen)
    rng.shuffle(out)
    return out


def v6_prefixes(n, rng):
    """/32 allocations, each with its /32, 0-2 /36, /40, /44 and 1-30 /48s."""
    seen = set()
    out = []
    while len(out) < n:
        block = rng.choice(V6_BLOCKS)
        alloc = int(block.network_address) | (rng.getrandbits(32 - block.prefixlen)
                                              << 96)
        if alloc in seen:
            continue
        seen.add(alloc)
        inside = [(alloc, 32)]
        for length, count in ((36, rng.randrange(3)), (40, rng.randrange(3)),
                              (44, rng.randrange(3))):
            for _ in range(count):
                inside.append((alloc | rng.getrandbits(length - 32) << (128 - length),
                               length))
        base40 = rng.getrandbits(8) << 88  # the /48s cluster in a few /40s
        for _ in range(rng.randrange(1, 31)):
            inside.append((alloc | base40 | rng.getrandbits(10) << 80, 48))
        for p in dict.fromkeys(inside):
            if len(out) < n:
                out.append(p)
    rng.shuffle(out)
    return out


def attr(t, value):
    n = 4 + len(value)
    return struct.pack("=HH", n, t) + value + b"\0" * (-n % 4)


def frames(prefixes, family, gw, oif):
    """FPM frames of RTM_NEWROUTE for prefixes [(int address, length)]."""
    alen = 4 if family == socket.AF_INET else 16
    tail = attr(RTA_GATEWAY, socket.inet_pton(family, gw)) + attr(RTA_OIF,
                                                                  struct.pack("=I", oif))
    nl_len = 16 + 12 + 4 + alen + len(tail)
    fpm_head = struct.pack("!BBH", 1, 1, 4 + nl_len)
    nl_head = struct.pack("=IHHII", nl_len, RTM_NEWROUTE, 0, 0, 0)
    dst_head = struct.pack("=HH", 4 + alen, RTA_DST)
    out = []
    for addr, length in prefixes:
        rtm = bytes((family, length, 0, 0, RT_TABLE_MAIN, RTPROT_BGP, 0, 1)) + b"\0" * 4
        out.append(fpm_head + nl_head + rtm + dst_head + addr.to_bytes(alen, "big") + tail)
    return b"".join(out)


def in_force(prefix, key):
    return telemetry.query(prefix, "/cuco/routes")[key]


def feed(sock, prefix, data, key, n, timeout):
    """Send data, wait until n more routes of key are in force; returns
    (seconds, [seconds at each quarter])."""
    base = in_force(prefix, key)
    marks = [base + (n * q + 3) // 4 for q in (1, 2, 3, 4)]
    times = []
    failed = []

    def send():
        try:
            sock.sendall(data)
        except OSError as e:
            failed.append(e)

    # The dataplane reads as fast as it installs: sendall() returns only
    # near the end, so it runs beside the polling.
    sender = threading.Thread(target=send, daemon=True)
    t0 = time.monotonic()
    sender.start()
    deadline = t0 + timeout
    while len(times) < 4:
        now = time.monotonic()
        have = in_force(prefix, key)
        while len(times) < 4 and have >= marks[len(times)]:
            times.append(now - t0)
        if len(times) == 4:
            break
        if failed:
            raise failed[0]
        if now > deadline:
            raise telemetry.TelemetryError(
                f"{key}: {have - base} of {n} routes in force after {timeout:g} s")
        time.sleep(0.05)
    sender.join(timeout)
    return times[-1], times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=["send", "dst4"])
    ap.add_argument("prefix", help="send: EAL --file-prefix of the dataplane; "
                    "dst4: the file to write")
    ap.add_argument("--v6", type=int, default=1000000)
    ap.add_argument("--v4", type=int, default=1000000)
    ap.add_argument("--oif", type=int, default=0, help="ifindex of the port's tap")
    ap.add_argument("--gw4", default="198.51.100.2")
    ap.add_argument("--gw6", default="2001:db8:100::2")
    ap.add_argument("--port", type=int, default=2620)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args()

    # Each family has its own generator: the same --v4 and --seed give the
    # same IPv4 routes, whatever --v6.
    t = time.monotonic()
    p4 = v4_prefixes(args.v4, random.Random(args.seed))
    if args.cmd == "dst4":
        rng = random.Random(args.seed + 1)
        with open(args.prefix, "w") as f:
            for addr, length in rng.sample(p4, min(4096, len(p4))):
                f.write(f"{ipaddress.IPv4Address(addr | rng.getrandbits(32 - length))}\n")
        return 0
    if args.oif <= 0:
        ap.error("send needs --oif")
    p6 = v6_prefixes(args.v6, random.Random(args.seed + 2))
    data6 = frames(p6, socket.AF_INET6, args.gw6, args.oif)
    data4 = frames(p4, socket.AF_INET, args.gw4, args.oif)
    print(f"encode_seconds={time.monotonic() - t:.1f}", flush=True)
    try:
        with socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout) as s:
            for fam, data, n in (("v6", data6, args.v6), ("v4", data4, args.v4)):
                if n == 0:
                    continue
                key = "ipv6" if fam == "v6" else "ipv4"
                secs, quarters = feed(s, args.prefix, data, key, n, args.timeout)
                print(f"{fam}_routes={n}")
                print(f"{fam}_bytes={len(data)}")
                print(f"{fam}_seconds={secs:.2f}")
                print(f"{fam}_rate={n / secs:.0f}")
                print(f"{fam}_quarters={','.join(f'{q:.2f}' for q in quarters)}",
                      flush=True)
    except (OSError, telemetry.TelemetryError) as e:
        print(f"fpm_feed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
