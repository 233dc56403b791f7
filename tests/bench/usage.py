#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Usage workload of scripts/bench --usage: how many usage records per
second the billing collector of cuco-controld rates (stores).

    usage.py run --dir DIR [--subscribers N] [--ticks T] [--runs R]
    usage.py stop-leftover DIR

'run' starts a private PostgreSQL cluster and a cuco-controld on it in DIR
(tests/integration/cucoctld.py; the binary is CUCO_CONTROLD or the
build's), and stands in for a dataplane: a ZeroMQ PUB on an ipc:// path,
registered as dataplane "bench" with that usage_endpoint (its agent
endpoint answers nobody: the network domain's provisioner only finds its
circuit open). Then, per run, T ticks; a tick is what a dataplane publishes
every usage-interval: the cumulative counters of the N subscribers (service
ids: UUIDs), 1000 a message, every subscriber's counters grown (so each
yields a usage row). A tick is timed from its first message sent until the
collector committed its last one (billing.usage_boots.last_seq), and the
next tick waits for that: nothing is dropped by ZeroMQ's high-water marks.
Printed per tick: messages, records, seconds, records/s. After the moving
ticks, one idle tick (no counter moved: reads of the positions, no row).

Checked at the end: the usage rows of the run are N * T, and their bytes
sum to what the ticks published (nothing lost, nothing twice). The first
tick of each run (a new boot: every service's first counters, inserts of
positions) is reported apart from the others (updates).

'stop-leftover' stops the controld and the cluster a killed bench left in
DIR. The bench measures and reports; it does not judge. Exit status 0, or 1
when it could not measure (a message on stderr).
"""

import argparse
import json
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import zmq

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import cucoctld  # noqa: E402

PER_MSG = 1000
T0 = 1764000000000


class Failed(Exception):
    pass


class Stop(BaseException):
    """SIGTERM or SIGHUP: unwind and clean up, like Ctrl-C."""


def on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


def say(*a):
    print(*a, flush=True)


class Psql:
    """One psql session kept open: polling must not fork a backend each time."""

    def __init__(self, url):
        self.p = subprocess.Popen(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def query(self, q):
        self.p.stdin.write(f"{q};\n\\echo __end__\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise Failed("psql ended")
            if line.strip() == "__end__":
                return "\n".join(out)
            out.append(line.rstrip("\n"))

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)


class Bench:
    def __init__(self, args):
        self.args = args
        self.dir = Path(args.dir)
        self.ctld = None
        self.psql = None
        self.ctx = self.pub = None
        self.seq = 0
        self.ids = [str(uuid.UUID(int=(0x5eed << 96) | i, version=4))
                    for i in range(args.subscribers)]

    def sql(self, q):
        if self.psql is None:
            self.psql = Psql(self.ctld.db_url)
        return self.psql.query(q)

    def start(self):
        self.ctld = cucoctld.Controld(self.dir / "usage")
        self.ctld.start()
        token = self.ctld.admin_token()
        usage = f"ipc://{self.dir}/usage.sock"
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.setsockopt(zmq.SNDHWM, 100000)
        self.pub.bind(usage)
        r = self.ctld.post("/api/v1/dataplanes", token=token,
                           json={"name": "bench", "endpoint": f"ipc://{self.dir}/agent.sock",
                                 "usage_endpoint": usage})
        if r.status_code != 201:
            raise Failed(f"registering the dataplane: {r.status_code} {r.text}")

    def message(self, boot, chunk, value, t):
        self.seq += 1
        return json.dumps({
            "v": 1, "type": "usage", "boot_id": boot, "seq": self.seq, "generation": 1,
            "time_ms": t, "part": 0, "last": True,
            "subscribers": [{"id": sid, "up": {"packets": value, "bytes": value * 100},
                             "down": {"packets": value, "bytes": value * 1000}}
                            for sid in chunk]}).encode()

    def applied_seq(self, boot):
        v = self.sql(f"SELECT last_seq FROM billing.usage_boots WHERE boot_id = '{boot}'")
        return int(v) if v else 0

    def connect(self, boot):
        """The collector joins once it learned the endpoint: an empty message
        (no subscriber) until its boot row shows up."""
        deadline = time.monotonic() + 30
        while self.applied_seq(boot) == 0:
            if time.monotonic() > deadline:
                raise Failed("the collector did not connect within 30 s:\n"
                             + self.ctld.log_tail())
            self.seq += 1
            self.pub.send(json.dumps({"v": 1, "type": "usage", "boot_id": boot,
                                      "seq": self.seq, "time_ms": T0,
                                      "subscribers": []}).encode())
            time.sleep(0.2)

    def tick(self, boot, value, t):
        msgs = [self.message(boot, self.ids[i:i + PER_MSG], value, t)
                for i in range(0, len(self.ids), PER_MSG)]
        last = self.seq
        t0 = time.monotonic()
        for m in msgs:
            self.pub.send(m)
        deadline = t0 + 600
        while self.applied_seq(boot) < last:
            if time.monotonic() > deadline:
                raise Failed("a tick was not applied within 600 s")
            time.sleep(0.01)
        return len(msgs), time.monotonic() - t0

    def run(self):
        a = self.args
        n = len(self.ids)
        self.start()
        say(f"usage bench: {n} subscribers, {PER_MSG} a message, {a.ticks} ticks a run, "
            f"{a.runs} runs; PostgreSQL {self.sql('SHOW server_version')}")
        firsts, moving, idle = [], [], []
        for run in range(1, a.runs + 1):
            boot = f"bench{run}"
            self.connect(boot)
            rows0 = int(self.sql("SELECT count(*) FROM billing.usage"))
            for k in range(1, a.ticks + 1):
                nmsg, secs = self.tick(boot, k, T0 + (run * 1000 + k) * 1000)
                rate = n / secs
                kind = "first" if k == 1 else "moving"
                say(f"run {run} tick {k} ({kind}): {nmsg} messages, {n} records in "
                    f"{secs:.2f} s: {rate:,.0f} records/s")
                if k == 1:
                    firsts.append(rate)
                else:
                    moving.append(rate)
            nmsg, secs = self.tick(boot, a.ticks, T0 + (run * 1000 + a.ticks + 1) * 1000)
            idle.append(n / secs)
            say(f"run {run} idle tick: {nmsg} messages, {n} subscribers unchanged in "
                f"{secs:.2f} s: {n / secs:,.0f} subscribers/s")
            rows = int(self.sql("SELECT count(*) FROM billing.usage")) - rows0
            got = int(self.sql(f"SELECT coalesce(sum(bytes_up), 0) FROM billing.usage "
                               f"WHERE boot_id = '{boot}'"))
            if rows != n * a.ticks or got != n * a.ticks * 100:
                raise Failed(f"run {run}: {rows} rows ({n * a.ticks} published), "
                             f"{got} bytes up ({n * a.ticks * 100} published)")
            say(f"run {run} checked: {rows} rows, bytes as published")
        say("summary (records stored per second; every message through ZeroMQ, the "
            "decoder and one transaction per batch of messages):")
        say(f"  first counters of a boot (positions inserted): median "
            f"{statistics.median(firsts):,.0f} ({len(firsts)} ticks)")
        if moving:
            say(f"  counters moved (positions updated): median {statistics.median(moving):,.0f}"
                f" (min {min(moving):,.0f}, max {max(moving):,.0f}, {len(moving)} ticks)")
        say(f"  idle (positions read only): median {statistics.median(idle):,.0f} "
            "subscribers/s")

    def stop(self):
        if self.psql is not None:
            self.psql.close()
        if self.pub is not None:
            self.pub.close()
            self.ctx.term()
        if self.ctld is not None:
            self.ctld.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--subscribers", type=int, default=100000)
    r.add_argument("--ticks", type=int, default=3)
    r.add_argument("--runs", type=int, default=1)
    s = sub.add_parser("stop-leftover")
    s.add_argument("dir")
    args = p.parse_args()

    if args.cmd == "stop-leftover":
        cucoctld.stop_leftover(Path(args.dir) / "usage")
        return 0
    if not 1 <= args.subscribers <= 10_000_000 or not 1 <= args.ticks <= 1000:
        p.error("--subscribers 1..10000000, --ticks 1..1000")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    b = Bench(args)
    try:
        b.run()
        return 0
    except (Failed, cucoctld.ControldError, zmq.ZMQError) as e:
        print(f"usage bench: {e}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Stop):
        print("usage bench: interrupted", file=sys.stderr)
        return 1
    finally:
        b.stop()


if __name__ == "__main__":
    sys.exit(main())
