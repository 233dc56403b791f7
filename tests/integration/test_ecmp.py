"""ECMP over two uplinks (issue 9, item 3).

The lab has a second uplink (cucolab uplinks=2: up1 <-> P-up eth1) and runs
FRR. staticd in P-edge holds one route per family with two gateways, the
upstream router on either link:

    192.0.2.128/25     via 203.0.113.2 (up0) and 192.0.2.2 (up1)
    2001:db8:400::/48  via 2001:db8:200::2 (up0) and 2001:db8:200:1::2 (up1)

zebra sends them over FPM as multipath routes; the fast path makes each a
next-hop group and picks a member per flow by a hash of its 5-tuple. UDP
flows from P-cust to an address of P-up's loopback are counted as they
leave by up0 and up1 (tx_packets in /cuco/ports).
"""

import json
import time

import pytest
from scapy.compat import raw
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import cucolab

LAB_OPTIONS = {"frr": True, "uplinks": 2, "fpm_stale_time": 2}

ECMP = {
    "ipv4": {"net": "192.0.2.128/25", "dst": "192.0.2.129", "plen": 32, "ip": "ip",
             "gws": ("203.0.113.2", "192.0.2.2"), "src": "198.51.100.2"},
    "ipv6": {"net": "2001:db8:400::/48", "dst": "2001:db8:400::1", "plen": 128,
             "ip": "ipv6", "gws": ("2001:db8:200::2", "2001:db8:200:1::2"),
             "src": "2001:db8:100::2"},
}
UPLINKS = ("up0", "up1")
FLOWS, PER_FLOW = 32, 8
SAME_FLOW = 200
# the kernel of P-edge talks through up0 too (BGP keepalives, ND): at most
# this many packets of its own during one measurement
NOISE = 20
RESOLVED = {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT"}


def wait_for(what, cond, timeout, step=0.1):
    """Poll cond() until it is true, at most timeout seconds; fail saying what."""
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"not after {timeout:g} s: {what}")
        time.sleep(step)


def neighbour_resolved(lab, addr):
    out = cucolab.run(["ip", "-n", lab.ns_edge, "-j", "neigh", "show", "to", addr],
                      check=False).stdout
    try:
        entries = json.loads(out or "[]")
    except ValueError:
        return False
    return any(RESOLVED & set(e.get("state", [])) for e in entries)


def tx(lab):
    ports = lab.ports()
    return {p: ports[p]["tx_packets"] for p in UPLINKS}


@pytest.fixture(scope="module", autouse=True)
def ecmp_routes(lab):
    """The two-gateway static routes in FRR, both gateways resolved, and the
    fast path holding a next-hop group for each family."""
    for fam, e in ECMP.items():
        lab.ip("up", "addr", "add", f"{e['dst']}/{e['plen']}", "dev", "lo")
        lab.vtysh("edge", "configure terminal",
                  *(f"{e['ip']} route {e['net']} {gw}" for gw in e["gws"]))
        for gw in e["gws"]:
            # the kernel resolves the gateway (through the tap); the
            # dataplane learns the neighbour from it
            wait_for(f"{gw} answers ping from P-edge",
                     lambda: lab.ns_run("edge", ["ping", "-n", "-c", "1", "-W", "1", gw],
                                        timeout=10).returncode == 0, 15, step=0.2)
            wait_for(f"{gw} resolved in P-edge", lambda: neighbour_resolved(lab, gw), 10)
    wait_for("a next-hop group per family in /cuco/routes",
             lambda: lab.telemetry("/cuco/routes").get("nexthop_groups", 0) >= 2, 15,
             step=0.2)


@pytest.fixture(scope="module")
def macs(lab):
    port_mac = lab.ports()["cust0"]["mac"]
    cust_mac = lab.ns_run("cust", ["cat", "/sys/class/net/eth0/address"],
                          check=True).stdout.strip()
    return port_mac, cust_mac


def udp_frame(macs, fam, sport, dport=9):
    port_mac, cust_mac = macs
    e = ECMP[fam]
    l3 = (IP(src=e["src"], dst=e["dst"], ttl=64) if fam == "ipv4"
          else IPv6(src=e["src"], dst=e["dst"], hlim=64))
    return raw(Ether(dst=port_mac, src=cust_mac) / l3 / UDP(sport=sport, dport=dport)
               / Raw(b"ecmp" * 4))


def send_and_count(lab, frames):
    """Send frames from P-cust; return the tx_packets deltas of up0 and up1
    once they have all left (or after 5 s)."""
    before = tx(lab)
    fwd_before = lab.stats("cust0")["forwarded"]
    sent, refused = lab.send_frames("cust", "eth0", frames)
    assert (sent, refused) == (len(frames), 0)
    deadline = time.monotonic() + 5
    while (lab.stats("cust0")["forwarded"] - fwd_before < len(frames)
           and time.monotonic() < deadline):
        time.sleep(0.05)
    after = tx(lab)
    forwarded = lab.stats("cust0")["forwarded"] - fwd_before
    assert forwarded >= len(frames), (
        f"the fast path forwarded {forwarded} of {len(frames)} packets")
    return {p: after[p] - before[p] for p in UPLINKS}


@pytest.mark.parametrize("fam", ["ipv4", "ipv6"])
def test_flows_spread_over_both_uplinks(lab, macs, fam):
    # packets of the flows interleaved, as real traffic would be
    frames = [udp_frame(macs, fam, 20000 + i) for _ in range(PER_FLOW)
              for i in range(FLOWS)]
    d = send_and_count(lab, frames)
    total = FLOWS * PER_FLOW
    assert d["up0"] + d["up1"] >= total, d
    for port in UPLINKS:
        # 32 flows hashed onto 2 paths: far from all on one side
        assert d[port] >= total // 5, f"{port} carried {d[port]} of {total} packets: {d}"


@pytest.mark.parametrize("fam", ["ipv4", "ipv6"])
def test_one_flow_stays_on_one_uplink(lab, macs, fam):
    for sport in (40000, 40001, 40002):
        d = send_and_count(lab, [udp_frame(macs, fam, sport)] * SAME_FLOW)
        busy, idle = sorted(UPLINKS, key=lambda p: d[p], reverse=True)
        assert d[busy] >= SAME_FLOW, d
        assert d[idle] <= NOISE, f"one flow (source port {sport}) split: {d}"


def test_vtysh_shows_multipath(lab):
    """FRR itself sees both paths: what the fast path spreads over."""
    out = lab.vtysh("edge", f"show ip route {ECMP['ipv4']['net']}").stdout
    for gw in ECMP["ipv4"]["gws"]:
        assert gw in out, out
