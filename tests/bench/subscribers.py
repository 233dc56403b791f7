#!/usr/bin/python3
"""Subscriber workload of scripts/bench: batches, pcap, provisioning client.

    subscribers.py batches --dir DIR --total N --sizes S1,S2,.. [--phase-batches K]
    subscribers.py pcap    --out FILE --dst-mac MAC --subscribers N
                           [--frames K] [--unknown PCT] [--seed S]
    subscribers.py provision --endpoint EP --dir DIR [--timeout S]
    subscribers.py counters  --endpoint EP --ids ID,ID,.. [--timeout S] [--summary]

Subscriber i (0-based) has the id "bench%07d" % i, the profile "bench" and one
match key, the IPv4 /32 100.64.0.16 + i (100.64.0.16 to 100.79.255.255 and
beyond for up to 2^22 - 16 subscribers, all inside the access port's subnet
100.64.0.0/10, which the bench gives the dataplane). The profile meters both
directions with an RFC 2698 trTCM, CIR 1 Gbit/s, PIR 2 Gbit/s, CBS and PBS
1 MB: far above what one subscriber gets in the bench, so every packet of a
known subscriber is green and forwarded.

'batches' writes DIR/batch-NNNN.json, each {"changes": [...]}: the first
holds the profile.upsert and nothing else; then phase j sends batches of Sj
subscribers, K batches per phase (default 10), the last phase as many as it
takes to reach N. DIR/plan lists "file subscribers phase_size" per line.

'pcap' writes K (default 16384) 60-byte IPv4/UDP frames (64 on the wire):
source a subscriber drawn uniformly at random among the N (or, for PCT % of
the frames, default 5, an address of no subscriber, 100.112.0.0/12),
destination 203.0.113.1-254, random UDP ports, UDP checksum 0 (none).

'provision' talks to the dataplane's agent directly (ZeroMQ REQ, schema 1):
hello, then every batch in plan order with the next generation. The time
of a batch is from the send of the encoded request to its reply (the agent
answers after the whole batch is published); reading and encoding the
file are not in it. Prints one line per batch: "batch FILE N SECONDS".

'counters' prints the agent's counters of the given ids as JSON, one a line,
or with --summary one line each: upstream packets forwarded, per colour,
and drops by reason.

Debian's /usr/bin/python3 (python3-zmq); exit status 0, or 1 with a
message on stderr.
"""

import argparse
import ipaddress
import json
import os
import random
import struct
import sys
import time

BASE = int(ipaddress.IPv4Address("100.64.0.16"))
UNKNOWN = int(ipaddress.IPv4Address("100.112.0.0"))
MAX_SUBS = (1 << 22) - 16
PROFILE = {
    "op": "profile.upsert", "name": "bench",
    "up": {"mode": "rfc2698", "cir": 1_000_000_000, "pir": 2_000_000_000,
           "cbs": 1_000_000, "pbs": 1_000_000},
    "down": {"mode": "rfc2698", "cir": 1_000_000_000, "pir": 2_000_000_000,
             "cbs": 1_000_000, "pbs": 1_000_000},
}


def sub_id(i):
    return "bench%07d" % i


def sub_addr(i):
    return str(ipaddress.IPv4Address(BASE + i))


def cmd_batches(a):
    sizes = [int(x) for x in a.sizes.split(",") if x]
    if not sizes or min(sizes) < 1 or not 1 <= a.total <= MAX_SUBS:
        raise SystemExit("subscribers: bad --sizes or --total")
    os.makedirs(a.dir, exist_ok=True)
    plan = []

    def write(changes, n, size):
        name = "batch-%04d.json" % len(plan)
        with open(os.path.join(a.dir, name), "w") as f:
            json.dump({"changes": changes}, f, separators=(",", ":"))
        plan.append(f"{name} {n} {size}")

    write([PROFILE], 0, 0)
    done = 0
    for j, size in enumerate(sizes):
        last = j == len(sizes) - 1
        k = 0
        while done < a.total and (last or k < a.phase_batches):
            n = min(size, a.total - done)
            write([{"op": "subscriber.upsert", "id": sub_id(i), "profile": "bench",
                    "availability": "active",
                    "match": {"prefixes": [sub_addr(i) + "/32"]}}
                   for i in range(done, done + n)], n, size)
            done += n
            k += 1
    with open(os.path.join(a.dir, "plan"), "w") as f:
        f.write("\n".join(plan) + "\n")
    return 0


def csum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def cmd_pcap(a):
    rng = random.Random(a.seed)
    dst_mac, src_mac = mac_bytes(a.dst_mac), mac_bytes(a.src_mac)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    unknown = 0
    for n in range(a.frames):
        if rng.random() * 100 < a.unknown:
            src = UNKNOWN + rng.randrange(1 << 20)
            unknown += 1
        else:
            src = BASE + rng.randrange(a.subscribers)
        dst = int(ipaddress.IPv4Address("203.0.113.1")) + rng.randrange(254)
        payload = bytes(18)
        udp = struct.pack("!HHHH", rng.randrange(1024, 65536), rng.randrange(1024, 65536),
                          8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(udp), n & 0xFFFF, 0, 64, 17, 0,
                         src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        frame = dst_mac + src_mac + b"\x08\x00" + ip + udp
        assert len(frame) == 60
        out.append(struct.pack("<IIII", n // 1000000, n % 1000000, 60, 60) + frame)
    with open(a.out, "wb") as f:
        f.write(b"".join(out))
    print(f"frames={a.frames} unknown={unknown}")
    return 0


class Agent:
    def __init__(self, endpoint, timeout):
        import zmq
        self.zmq = zmq
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.REQ)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.timeout = timeout
        self.seq = 0

    def send(self, raw):
        self.sock.send(raw)
        if not self.sock.poll(int(self.timeout * 1000)):
            raise SystemExit(f"subscribers: no answer within {self.timeout:g} s")
        return json.loads(self.sock.recv())

    def request(self, op, **members):
        self.seq += 1
        reply = self.send(json.dumps({"v": 1, "seq": self.seq, "op": op, **members}).encode())
        if not reply.get("ok"):
            raise SystemExit(f"subscribers: {op} refused: {json.dumps(reply.get('error'))}")
        return reply

    def close(self):
        self.sock.close()
        self.ctx.term()


def cmd_provision(a):
    agent = Agent(a.endpoint, a.timeout)
    gen = agent.request("hello")["generation"]
    with open(os.path.join(a.dir, "plan")) as f:
        plan = [line.split() for line in f if line.strip()]
    for name, n, _size in plan:
        with open(os.path.join(a.dir, name)) as f:
            changes = json.load(f)["changes"]
        gen += 1
        agent.seq += 1
        raw = json.dumps({"v": 1, "seq": agent.seq, "op": "batch", "generation": gen,
                          "changes": changes}, separators=(",", ":")).encode()
        del changes
        t0 = time.monotonic()
        reply = agent.send(raw)
        dt = time.monotonic() - t0
        if not reply.get("ok"):
            raise SystemExit(f"subscribers: {name} refused after {dt:.3f} s: "
                             f"{json.dumps(reply.get('error'))}")
        print(f"batch {name} {n} {dt:.6f}", flush=True)
    agent.close()
    return 0


def cmd_counters(a):
    agent = Agent(a.endpoint, a.timeout)
    for i in a.ids.split(","):
        c = agent.request("counters", id=i)["counters"]
        if not a.summary:
            print(json.dumps(c))
            continue
        u = c["up"]
        colours = ", ".join(f"{k} {v['packets']}" for k, v in u["colours"].items())
        drops = ", ".join(f"{k} {v['packets']}" for k, v in u["drops"].items()
                          if v["packets"]) or "none"
        print(f"{c['id']}: forwarded {u['packets']} packets, {u['bytes']} bytes; "
              f"{colours}; drops: {drops}")
    agent.close()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("batches")
    b.add_argument("--dir", required=True)
    b.add_argument("--total", type=int, required=True)
    b.add_argument("--sizes", required=True)
    b.add_argument("--phase-batches", type=int, default=10)
    p = sub.add_parser("pcap")
    p.add_argument("--out", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--src-mac", default="02:00:00:00:00:03")
    p.add_argument("--subscribers", type=int, required=True)
    p.add_argument("--frames", type=int, default=16384)
    p.add_argument("--unknown", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=1)
    v = sub.add_parser("provision")
    v.add_argument("--endpoint", required=True)
    v.add_argument("--dir", required=True)
    v.add_argument("--timeout", type=float, default=600)
    c = sub.add_parser("counters")
    c.add_argument("--endpoint", required=True)
    c.add_argument("--ids", required=True)
    c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--summary", action="store_true")
    a = ap.parse_args()
    try:
        return {"batches": cmd_batches, "pcap": cmd_pcap, "provision": cmd_provision,
                "counters": cmd_counters}[a.cmd](a)
    except (OSError, ValueError, KeyError) as e:
        print(f"subscribers: {e!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
