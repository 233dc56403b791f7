"""Usage from the real fast path to the billing schema and the export feeds.

A service activated through TMF640 is enforced by the lab's dataplane, which
publishes its cumulative counters on an ipc:// usage endpoint given at the
dataplane's registration; controld's collector turns them into usage rows.
Traffic of known IP lengths (scapy frames, each received by a sink so that
nothing answers) must appear in the usage rows exactly, through a restart of
the dataplane (a new boot id), a restart of controld (positions resumed), and
a resync (every subscriber's final counters, then counters from zero). The
CSV and JSON-lines feeds (files, manifests) and the IPFIX feed (read back by
nfdump from nfcapd's files) must carry the same totals as the usage table.
"""

import csv
import hashlib
import io
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from scapy.compat import raw
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import cucoctld
from test_subscribers import _SINK, A4, UP4, helper, helper_result, ping

RUN_DIR = Path(f"/run/cuco-lab/us{os.getpid()}")
AGENT = f"ipc://{RUN_DIR}/agent.sock"
USAGE = f"ipc://{RUN_DIR}/usage.sock"
FEEDS = Path(tempfile.mkdtemp(prefix="cuco-usage-feeds-"))


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


IPFIX_PORT = _free_udp_port()
LAB_OPTIONS = {"config_extra": [f"agent {AGENT}", f"usage {USAGE}", "usage-interval 500"]}
CTLD_OPTIONS = {"config_extra": (
    f"feed billcsv usage csv {FEEDS}/csv interval 1 max 50\n"
    f"feed billjson usage jsonl {FEEDS}/jsonl interval 1\n"
    f"feed billipfix usage ipfix 127.0.0.1:{IPFIX_PORT} interval 1 domain 7\n")}
TMF640 = "/tmf-api/ServiceActivationAndConfiguration/v4"
TMF635 = "/tmf-api/usageManagement/v4"
IP_LEN, PORT = 700, 40100

# the agent's directory exists before the lab's dataplane binds there, the
# feeds' directories before controld starts
RUN_DIR.mkdir(parents=True, exist_ok=True)
for sub in ("csv", "jsonl", "nfcapd"):
    (FEEDS / sub).mkdir(parents=True, exist_ok=True)


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def env(lab, ctld):
    try:
        token = ctld.admin_token()
        for _try in range(5):
            if ping(lab, "cust", UP4, count=3)[0] == 3:
                break
        for path, body in (("/api/v1/dataplanes", {"name": "edge", "endpoint": AGENT,
                                                   "usage_endpoint": USAGE}),
                           ("/api/v1/pools", {"name": "lab4", "prefix": "198.51.100.0/24",
                                              "exclude": ["198.51.100.0/31",
                                                          "198.51.100.255/32"]})):
            r = ctld.post(path, token=token, json=body)
            assert r.status_code == 201, r.text
        wait_for("dataplane synced", lambda: ctld.get("/api/v1/dataplanes", token=token)
                 .json()[0]["state"] == "synced", 10)
        big = {"mode": "none"}
        body = {"name": "metered internet", "relatedParty": [{"id": "cust-u", "role": "customer"}],
                "serviceCharacteristic": [
                    {"name": "profile", "value": {"name": "open", "up": big, "down": big}},
                    {"name": "prefixPool", "value": "lab4"}]}
        r = ctld.post(f"{TMF640}/service", token=token, json=body)
        assert r.status_code == 202, r.text
        sid = r.json()["response"]["body"]["id"]
        wait_for("the service in the fast path", lambda: dp_counters(lab, sid), 10)
        yield {"token": token, "sid": sid}
    finally:
        shutil.rmtree(RUN_DIR, ignore_errors=True)


def teardown_module(module):
    shutil.rmtree(FEEDS, ignore_errors=True)


def dp_counters(lab, sid):
    """The dataplane's cumulative counters of @sid as (bytes up, bytes down,
    packets up, packets down), with its boot id; None when it has no such
    subscriber."""
    p = lab.dpctl("-e", AGENT, "counters", sid, json_out=True, dpctl_timeout=5)
    if p.returncode != 0:
        return None
    c = json.loads(p.stdout)["counters"]
    h = json.loads(lab.dpctl("-e", AGENT, "hello", json_out=True, dpctl_timeout=5).stdout)
    return h["boot_id"], (c["up"]["bytes"], c["down"]["bytes"], c["up"]["packets"],
                          c["down"]["packets"])


def usage_sums(ctld, sid, boot=None):
    where = f"service_id = '{sid}'" + (f" AND boot_id = '{boot}'" if boot else "")
    out = cucoctld.psql(ctld.db_url, "SELECT coalesce(sum(bytes_up), 0), "
                        "coalesce(sum(bytes_down), 0), coalesce(sum(packets_up), 0), "
                        f"coalesce(sum(packets_down), 0) FROM billing.usage WHERE {where}")
    return tuple(int(x) for x in out.split("|"))


# Per boot, what the usage rows hold beyond the dataplane's counters: the
# final counters of a subscriber deleted and added again in that boot.
BASE = {}


def settled(lab, ctld, sid, timeout=15):
    """Wait until the usage rows of the dataplane's current boot sum to its
    cumulative counters (the collector caught up); returns (boot, counters)."""
    last = None

    def check():
        nonlocal last
        boot, c = dp_counters(lab, sid)
        base = BASE.get(boot, (0, 0, 0, 0))
        want = tuple(b + x for b, x in zip(base, c))
        last = (boot, want, usage_sums(ctld, sid, boot))
        return (boot, c) if last[2] == want else None
    deadline = time.monotonic() + timeout
    while True:
        v = check()
        if v:
            return v
        if time.monotonic() > deadline:
            rows = cucoctld.psql(ctld.db_url, "SELECT seq, bytes_up, bytes_down, start_time, "
                                 f"end_time FROM billing.usage WHERE boot_id = '{last[0]}' "
                                 "ORDER BY id")
            pytest.fail(f"usage of boot {last[0]} is {last[2]}, want {last[1]} (the "
                        "dataplane's counters and what the boot's earlier slots counted); "
                        f"rows:\n{rows}")
        time.sleep(0.2)


def send(lab, direction, n):
    """n UDP packets of IP_LEN bytes from A upstream (or to A downstream),
    each received by a sink, so nothing else is counted."""
    cust_mac = json.loads(lab.ns_run("cust", ["ip", "-j", "link", "show", "eth0"],
                                     check=True).stdout)[0]["address"]
    up_mac = json.loads(lab.ns_run("up", ["ip", "-j", "link", "show", "eth0"],
                                   check=True).stdout)[0]["address"]
    if direction == "up":
        src, dst, ns, sink_ns, mac, smac = A4, UP4, "cust", "up", lab.mac("cust0"), cust_mac
    else:
        src, dst, ns, sink_ns, mac, smac = UP4, A4, "up", "cust", lab.mac("up0"), up_mac
    frame = raw(Ether(dst=mac, src=smac) / IP(src=src, dst=dst) / UDP(sport=40001, dport=PORT)
                / Raw(b"u" * (IP_LEN - 28)))
    # the next hop resolved first (a burst would overflow the kernel's queue)
    lab.ns_run(ns, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", dst], timeout=10)
    time.sleep(0.3)
    sink = helper(lab, sink_ns, _SINK, dst, PORT, n, 10)
    sent, refused = lab.send_frames(ns, "eth0", [frame] * n)
    got = int(helper_result(sink))
    assert (sent, refused, got) == (n, 0, n), f"{direction}: sent {sent}, received {got}"


def test_traffic_becomes_usage_exactly(lab, ctld, env):
    """Known datagrams up, then down, with nothing else between the baseline
    and the traffic: the usage rows grow by exactly n * IP_LEN bytes and n
    packets, in that direction only, and later by nothing."""
    sid = env["sid"]
    cust_mac = json.loads(lab.ns_run("cust", ["ip", "-j", "link", "show", "eth0"],
                                     check=True).stdout)[0]["address"]
    up_mac = json.loads(lab.ns_run("up", ["ip", "-j", "link", "show", "eth0"],
                                   check=True).stdout)[0]["address"]
    for direction, n, ns, sink_ns, src, dst, mac, smac in (
            ("up", 250, "cust", "up", A4, UP4, lab.mac("cust0"), cust_mac),
            ("down", 180, "up", "cust", UP4, A4, lab.mac("up0"), up_mac)):
        # resolve the next hop first, then the baseline, then only the datagrams
        lab.ns_run(ns, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", dst], timeout=10)
        boot, before = settled(lab, ctld, sid)
        frame = raw(Ether(dst=mac, src=smac) / IP(src=src, dst=dst)
                    / UDP(sport=40001, dport=PORT) / Raw(b"k" * (IP_LEN - 28)))
        sink = helper(lab, sink_ns, _SINK, dst, PORT, n, 10)
        assert lab.send_frames(ns, "eth0", [frame] * n) == (n, 0)
        assert int(helper_result(sink)) == n
        boot2, after = settled(lab, ctld, sid)
        assert boot2 == boot
        moved = tuple(a - b for a, b in zip(after, before))
        want = (n * IP_LEN, 0, n, 0) if direction == "up" else (0, n * IP_LEN, 0, n)
        assert moved == want, f"{direction}: usage moved {moved}, sent {want}"
    time.sleep(1.5)
    assert usage_sums(ctld, sid, boot) == after, "usage grew with no traffic"


def test_dataplane_restart_loses_and_doubles_nothing(lab, ctld, env):
    """Traffic, then at once a restart: the stopping dataplane's last usage
    message carries it; the new boot's counters from zero add to it."""
    sid = env["sid"]
    boot, before = settled(lab, ctld, sid)
    total_before = usage_sums(ctld, sid)
    send(lab, "up", 100)
    lab.restart_dataplane()
    wait_for("the service back in the restarted fast path", lambda: dp_counters(lab, sid), 15)
    send(lab, "up", 150)
    boot2, counted = settled(lab, ctld, sid)
    assert boot2 != boot
    # what the old boot published before it stopped, plus the new boot's
    # counters from zero: no byte lost, none twice
    old_boot = usage_sums(ctld, sid, boot)
    # the datagrams, and at most the two pings (84 bytes each) that resolved the next hop
    assert before[0] + 100 * IP_LEN <= old_boot[0] <= before[0] + 100 * IP_LEN + 2 * 84, (
        old_boot, before)
    total = usage_sums(ctld, sid)
    assert total == tuple(o + n for o, n in zip(old_boot, counted))
    assert total[0] >= total_before[0] + 250 * IP_LEN
    assert counted[0] >= 150 * IP_LEN
    boots = cucoctld.psql(ctld.db_url, "SELECT count(*) FROM billing.usage_boots "
                          "WHERE dataplane = 'edge'")
    assert int(boots) >= 2


def test_controld_restart_resumes_exactly(lab, ctld, env):
    sid = env["sid"]
    boot, before = settled(lab, ctld, sid)
    send(lab, "down", 120)
    ctld.restart()
    send(lab, "up", 80)
    boot2, after = settled(lab, ctld, sid, timeout=20)
    assert boot2 == boot
    assert after[1] - before[1] >= 120 * IP_LEN and after[0] - before[0] >= 80 * IP_LEN


def test_deleted_then_readded_final_counters_then_from_zero(lab, ctld, env):
    """A subscriber deleted behind the network domain's back (cuco-dpctl):
    the dataplane publishes its final counters; its generation moved, so the
    provisioner resyncs and adds it again in a fresh slot, counting from
    zero. Both count, once."""
    sid = env["sid"]
    boot, before = settled(lab, ctld, sid)
    p = lab.dpctl("-e", AGENT, "batch", "-", json_out=True, dpctl_timeout=5,
                  input=json.dumps({"changes": [{"op": "subscriber.delete", "id": sid}]}))
    assert p.returncode == 0, p.stderr
    wait_for("the service back from zero after the resync",
             lambda: (lambda c: c is not None and c[1][0] < before[0])(dp_counters(lab, sid)),
             15)
    final = cucoctld.psql(ctld.db_url, "SELECT count(*) FROM billing.usage_positions WHERE "
                          f"service_id = '{sid}' AND final")
    send(lab, "up", 90)
    # the final counters (before) and the fresh slot's counters, both once
    BASE[boot] = tuple(b + x for b, x in zip(BASE.get(boot, (0, 0, 0, 0)), before))
    boot2, fresh = settled(lab, ctld, sid)
    assert boot2 == boot
    assert fresh[0] >= 90 * IP_LEN
    assert final in ("0", "1")


def quiet(ctld, sid, timeout=15):
    """The service's usage once it stopped moving (1.5 s: three messages)."""
    deadline = time.monotonic() + timeout
    last = usage_sums(ctld, sid)
    while True:
        time.sleep(1.5)
        now = usage_sums(ctld, sid)
        if now == last:
            return now
        assert time.monotonic() < deadline, "usage does not settle"
        last = now


def test_resync_counts_nothing_twice(lab, ctld, env):
    """A resync deletes and re-adds every subscriber in one batch: the
    dataplane either keeps a subscriber's slot and counters, or publishes
    the old slot's final counters and starts a new one from zero. Either
    way usage grows by the traffic only. (Last of the traffic tests: the
    boot's usage no longer equals the dataplane's counters after it.)"""
    sid = env["sid"]
    settled(lab, ctld, sid)
    lab.ns_run("up", ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", A4], timeout=10)
    before = quiet(ctld, sid)
    h = json.loads(lab.dpctl("-e", AGENT, "hello", json_out=True, dpctl_timeout=5).stdout)
    p = lab.dpctl("-e", AGENT, "batch", "-", json_out=True, dpctl_timeout=5,
                  input=json.dumps({"changes": [{"op": "walled_garden.set", "allow": []}]}))
    assert p.returncode == 0, p.stderr
    wait_for("the provisioner's resync", lambda: json.loads(lab.dpctl(
        "-e", AGENT, "hello", json_out=True, dpctl_timeout=5).stdout)["generation"]
        > h["generation"] + 1, 15)
    up_mac = json.loads(lab.ns_run("up", ["ip", "-j", "link", "show", "eth0"],
                                   check=True).stdout)[0]["address"]
    frame = raw(Ether(dst=lab.mac("up0"), src=up_mac) / IP(src=UP4, dst=A4)
                / UDP(sport=40001, dport=PORT) / Raw(b"r" * (IP_LEN - 28)))
    sink = helper(lab, "cust", _SINK, A4, PORT, 60, 10)
    assert lab.send_frames("up", "eth0", [frame] * 60) == (60, 0)
    assert int(helper_result(sink)) == 60
    wait_for("the datagrams in usage",
             lambda: usage_sums(ctld, sid)[1] >= before[1] + 60 * IP_LEN, 15)
    after = quiet(ctld, sid)
    assert after[1] - before[1] == 60 * IP_LEN, (before, after)
    assert after[3] - before[3] == 60
    assert after[0] == before[0]


def read_file_feed(kind, ext):
    """Every batch of a file feed in order, checked against its manifest."""
    d = FEEDS / kind
    manifests = sorted(d.glob("*.manifest.json"))
    rows, batches = [], []
    for m in manifests:
        man = json.loads(m.read_text())
        data = (d / man["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == man["sha256"], m
        assert len(data) == man["bytes"]
        if ext == "csv":
            recs = list(csv.DictReader(io.StringIO(data.decode())))
        else:
            recs = [json.loads(line) for line in data.decode().splitlines()]
        assert len(recs) == man["records"]
        assert int(recs[0]["id"]) == man["first_id"] and int(recs[-1]["id"]) == man["last_id"]
        batches.append(man["batch"])
        rows += recs
    assert batches == list(range(1, len(batches) + 1)), batches
    assert not list(d.glob(".*.tmp"))
    return rows


def table_rows(ctld):
    out = cucoctld.psql(ctld.db_url, "SELECT id, service_id, bytes_up, bytes_down, "
                        "packets_up, packets_down FROM billing.usage ORDER BY id")
    return [tuple(line.split("|")) for line in out.splitlines() if line]


def test_feeds_carry_the_usage_table(lab, ctld, env, nfcapd):
    sid = env["sid"]
    quiet(ctld, sid)
    rows = table_rows(ctld)
    last = rows[-1][0]
    wait_for("every feed at the last usage row", lambda: cucoctld.psql(
        ctld.db_url, "SELECT count(*) FROM billing.feed_positions WHERE last_id = "
        f"{last}") == "3", 20)
    want = {(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows}
    for kind, ext in (("csv", "csv"), ("jsonl", "jsonl")):
        recs = read_file_feed(kind, ext)
        got = [(str(r["id"]), r["service_id"], int(r["bytes_up"]), int(r["bytes_down"]),
                int(r["packets_up"]), int(r["packets_down"])) for r in recs]
        assert len(got) == len(set(got)), f"{kind}: a record twice"
        assert set(got) == want, f"{kind}: records differ from the usage table"
    # IPFIX: nfcapd writes its file when it stops
    nfcapd.send_signal(signal.SIGTERM)
    nfcapd.wait(15)
    p = subprocess.run(["nfdump", "-R", str(FEEDS / "nfcapd"), "-o", "json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    flows = json.loads(p.stdout or "[]")
    svc = ipaddress.IPv6Address(uuid.UUID(sid).bytes)
    up = sum(f["in_bytes"] for f in flows
             if ipaddress.IPv6Address(f["src6_addr"]) == svc and f["direction"] == 0)
    down = sum(f["in_bytes"] for f in flows
               if ipaddress.IPv6Address(f["src6_addr"]) == svc and f["direction"] == 1)
    pkts = sum(f["in_packets"] for f in flows if ipaddress.IPv6Address(f["src6_addr"]) == svc)
    table = usage_sums(ctld, sid)
    assert (up, down) == (table[0], table[1]), f"nfdump {(up, down)}, usage {table[:2]}"
    assert pkts == table[2] + table[3]


def test_tmf635_totals(lab, ctld, env):
    sid, token = env["sid"], env["token"]
    r = ctld.get(f"{TMF635}/usage", token=token, params={"serviceId": sid, "limit": 1000})
    assert r.status_code == 200, r.text
    items = r.json()
    assert int(r.headers["X-Total-Count"]) == len(items)

    def char(u, name):
        return [c["value"] for c in u["usageCharacteristic"] if c["name"] == name][0]
    total = usage_sums(ctld, sid)
    assert sum(char(u, "bytesUp") for u in items) == total[0]
    assert sum(char(u, "bytesDown") for u in items) == total[1]
