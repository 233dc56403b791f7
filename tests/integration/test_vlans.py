"""VLAN subscribers through the fast path, with frames the customer side tags
itself (raw sockets in P-cust): the parts that need no VLAN interface in any
kernel.

    P-cust eth0  198.51.100.2 2001:db8:100::2   subscriber U (untagged, unmetered)
                 802.1Q 100                      subscriber V (VLAN only)
                 802.1ad 200 + 802.1Q 300        subscriber Q (the pair only)
                 802.1ad 200 + any other         subscriber S (the S-VLAN only)
                 802.1Q 999                      nobody: cust0's unknown policy
                                                 here is drop

Upstream, a tagged frame belongs to the subscriber of its tags whatever its
source address, is routed with its tags stripped, and a tagged ARP request
reaches the kernel behind tap-cust0 with its tags, in the form the kernel's
VLAN interfaces take (802.1Q; a pair 802.1ad outside). Downstream tagging,
which needs VLAN interfaces in the appliance's and the customer's kernels,
is tested in test_vlans_kernel.py. The last test checks that the dataplane
makes its VLAN interfaces, or says why it cannot.
"""

import json
import os
import sys

import pytest
from scapy.compat import raw
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.packet import Raw

import cucolab
from test_subscribers import (_SINK, apply, counters, delta, dpctl_ok, helper,
                              helper_result, ping, profile)

LAB_OPTIONS = {"port_extra": {"cust0": ("unknown drop",)}}

A4, A6 = "198.51.100.2", "2001:db8:100::2"
UP4 = "203.0.113.2"
V_SRC = "198.51.100.130"   # any source: the tags decide
N, IP_LEN, PORT = 100, 500, 40100


def sub(sid, vlans=(), prefixes=(), availability="active", prof="open"):
    return {"op": "subscriber.upsert", "id": sid, "profile": prof,
            "availability": availability,
            "match": {"prefixes": list(prefixes), "macs": [],
                      "vlans": [{"port": "cust0", **v} for v in vlans]}}


def baseline():
    return [profile("open"),
            sub("U", prefixes=(f"{A4}/32", f"{A6}/128")),
            sub("V", vlans=({"outer": 100},)),
            sub("Q", vlans=({"outer": 200, "inner": 300},)),
            sub("S", vlans=({"outer": 200},))]


@pytest.fixture(scope="module")
def net(lab):
    apply(lab, baseline())
    # P-edge resolves the uplink host before the bursts (see test_subscribers)
    for _try in range(5):
        got, _p = ping(lab, "cust", UP4, count=2)
        if got == 2:
            break
    assert got == 2, "the untagged customer cannot reach the uplink"
    return lab


@pytest.fixture
def prov(net):
    apply(net, baseline())
    return net


def mac(lab, ns, iface="eth0"):
    out = lab.ns_run(ns, ["ip", "-j", "link", "show", iface], check=True).stdout
    return json.loads(out)[0]["address"]


def frames(lab, tags, n=N, src=V_SRC):
    """n UDP datagrams of IP_LEN bytes from src to UP4, with tags: a list
    of (tpid, vlan id), outer first."""
    l2 = Ether(dst=lab.mac("cust0"), src=mac(lab, "cust"))
    for tpid, vid in tags:
        l2 = l2 / (Dot1AD(vlan=vid) if tpid == 0x88a8 else Dot1Q(vlan=vid))
    pkt = (l2 / IP(src=src, dst=UP4) / UDP(sport=40001, dport=PORT)
           / Raw(b"v" * (IP_LEN - 28)))
    f = raw(pkt)
    assert len(f) == 14 + 4 * len(tags) + IP_LEN
    return [f] * n


def send_upstream(lab, tags, n=N):
    """Send n tagged datagrams; returns how many the uplink host received."""
    sink = helper(lab, "up", _SINK, UP4, PORT, n, 5)
    sent, refused = lab.send_frames("cust", "eth0", frames(lab, tags, n))
    assert (sent, refused) == (n, 0)
    return int(helper_result(sink))


def test_vlan_only_subscriber_upstream(prov):
    """V has nothing but VLAN 100: its tagged datagrams are counted for it,
    exactly, and reach the uplink untagged (P-up has no VLAN interface: it
    would not take a tagged frame)."""
    lab = prov
    v0, u0 = counters(lab, "V"), counters(lab, "U")
    received = send_upstream(lab, [(0x8100, 100)])
    v1, u1 = counters(lab, "V"), counters(lab, "U")
    assert received == N, f"{received} of {N} datagrams of VLAN 100 reached the uplink"
    assert delta(v1, v0, "up", "packets") == N
    assert delta(v1, v0, "up", "bytes") == N * IP_LEN
    assert delta(v1, v0, "down", "packets") == 0
    assert delta(u1, u0, "up", "packets") == 0, "VLAN 100 counted for the untagged U"


def test_qinq_pair_and_s_vlan_upstream(prov):
    """802.1ad 200 + 802.1Q 300 is Q's; 200 with any other C-VLAN is S's
    (the S-VLAN as a whole); a pair with 0x8100 outside is the same pair."""
    lab = prov
    q0, s0 = counters(lab, "Q"), counters(lab, "S")
    assert send_upstream(lab, [(0x88a8, 200), (0x8100, 300)]) == N
    q1, s1 = counters(lab, "Q"), counters(lab, "S")
    assert send_upstream(lab, [(0x88a8, 200), (0x8100, 301)]) == N
    assert send_upstream(lab, [(0x8100, 200), (0x8100, 300)]) == N
    q2, s2 = counters(lab, "Q"), counters(lab, "S")
    assert delta(q1, q0, "up", "packets") == N and delta(s1, s0, "up", "packets") == 0
    assert delta(q2, q1, "up", "packets") == N
    assert delta(s2, s1, "up", "packets") == N


def test_suspended_vlan_subscriber_passes_nothing_upstream(prov):
    lab = prov
    apply(lab, [sub("V", vlans=({"outer": 100},), availability="suspended")])
    v0 = counters(lab, "V")
    received = send_upstream(lab, [(0x8100, 100)], n=20)
    v1 = counters(lab, "V")
    assert received == 0, f"suspended V passed {received} datagrams"
    assert delta(v1, v0, "up", "packets") == 0
    assert delta(v1, v0, "up", "drops", "suspended", "packets") == 20
    assert delta(v1, v0, "up", "drops", "suspended", "bytes") == 20 * IP_LEN


def test_unknown_vlan_follows_the_port_policy(prov):
    """VLAN 999 is nobody's, and its source address is nobody's either:
    cust0's unknown policy (drop) applies, counted for the unknown slot;
    with the source address of U, the address decides (U's)."""
    lab = prov
    k0 = dpctl_ok(lab, "counters")["unknown"]
    st0 = lab.stats("cust0")
    received = send_upstream(lab, [(0x8100, 999)], n=20)
    k1 = dpctl_ok(lab, "counters")["unknown"]
    st1 = lab.stats("cust0")
    assert received == 0
    assert delta(k1, k0, "up", "drops", "unknown", "packets") == 20
    assert st1["drops"]["sub_unknown"] - st0["drops"]["sub_unknown"] == 20
    u0 = counters(lab, "U")
    sink = helper(lab, "up", _SINK, UP4, PORT, 20, 5)
    lab.send_frames("cust", "eth0", frames(lab, [(0x8100, 999)], n=20, src=A4))
    assert int(helper_result(sink)) == 20
    assert delta(counters(lab, "U"), u0, "up", "packets") == 20


# Runs in a namespace: capture on argv[1] for argv[2] seconds the frames of
# kind argv[3] ("arp", or "icmp": ICMP and ICMPv6) and print, one JSON list
# per frame, the tags as the kernel reports them
# (PACKET_AUXDATA: the outer tag it stripped) followed by those left in the
# frame: [[tpid, vlan id], ...].
_TAG_SNIFFER = r"""
import json, socket, struct, sys, time
iface, secs, kind = sys.argv[1], float(sys.argv[2]), sys.argv[3]
SOL_PACKET, PACKET_AUXDATA = 263, 8
TP_STATUS_VLAN_VALID, TP_STATUS_VLAN_TPID_VALID = 1 << 4, 1 << 6
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
s.bind((iface, 0)); s.settimeout(0.1)
print("ready", flush=True)
out, end = [], time.monotonic() + secs
while time.monotonic() < end:
    try:
        f, anc, _fl, _a = s.recvmsg(65535, 256)
    except socket.timeout:
        continue
    tags = []
    for level, typ, data in anc:
        if level == SOL_PACKET and typ == PACKET_AUXDATA:
            status, _l, _s, _m, _n, tci, tpid = struct.unpack("IIIHHHH", data[:24])
            if status & TP_STATUS_VLAN_VALID:
                tags.append([tpid if status & TP_STATUS_VLAN_TPID_VALID else 0x8100,
                             tci & 0xfff])
    off = 12
    while int.from_bytes(f[off:off + 2], "big") in (0x8100, 0x88a8, 0x9100):
        tags.append([int.from_bytes(f[off:off + 2], "big"),
                     int.from_bytes(f[off + 2:off + 4], "big") & 0xfff])
        off += 4
    et, l3 = int.from_bytes(f[off:off + 2], "big"), f[off + 2:]
    if kind == "arp" and et == 0x0806:
        out.append(tags)
    elif kind == "icmp" and ((et == 0x0800 and len(l3) > 9 and l3[9] == 1) or
                             (et == 0x86dd and len(l3) > 6 and l3[6] == 58)):
        out.append(tags)
print(json.dumps(out), flush=True)
"""


def test_tagged_arp_reaches_the_kernel_with_its_tags(prov):
    """A tagged ARP request is punted to tap-cust0 with its tags, for the
    kernel to hand to the VLAN interface of those tags; a pair arrives
    802.1ad outside 802.1Q whatever the customer used outside."""
    lab = prov
    src = mac(lab, "cust")
    arp = ARP(op=1, hwsrc=src, psrc=V_SRC, pdst="198.51.100.129")
    reqs = [Ether(dst="ff:ff:ff:ff:ff:ff", src=src) / Dot1Q(vlan=100) / arp,
            Ether(dst="ff:ff:ff:ff:ff:ff", src=src) / Dot1Q(vlan=200) / Dot1Q(vlan=300) / arp,
            Ether(dst="ff:ff:ff:ff:ff:ff", src=src) / Dot1AD(vlan=200) / Dot1Q(vlan=301) / arp]
    p0 = lab.stats("cust0")["punts"]["arp"]
    sniff = helper(lab, "edge", _TAG_SNIFFER, "tap-cust0", 3, "arp")
    lab.send_frames("cust", "eth0", [raw(r) for r in reqs])
    seen = json.loads(helper_result(sniff))
    assert lab.stats("cust0")["punts"]["arp"] - p0 >= 3
    assert [[0x8100, 100]] in seen, seen
    assert [[0x88a8, 200], [0x8100, 300]] in seen, seen
    assert [[0x88a8, 200], [0x8100, 301]] in seen, seen


def test_vlan_interfaces_are_made_or_refused_by_name(lab):
    """A dataplane whose config has VLANs makes their interfaces on the tap
    (802.1Q; a pair's outer 802.1ad) with their addresses, or, on a kernel
    without 802.1Q, refuses to start, saying so."""
    supported = cucolab.kernel_has_vlans(f"{lab.prefix}-vprobe")
    other = cucolab.Lab(f"ct{os.getpid()}n{900}", state_root=lab.dir.parent,
                        port_extra={"cust0": (
                            "vlan 100 address 192.0.2.129/26",
                            "vlan 200.300 tap tap-c0.200.300 address 192.0.2.193/26")})
    try:
        if not supported:
            with pytest.raises(cucolab.LabError) as e:
                other.start()
            assert "the kernel has no 802.1Q VLAN support" in str(e.value), str(e.value)
            return
        other.start()
        links = {ln["ifname"]: ln for ln in json.loads(other.ns_run(
            "edge", ["ip", "-d", "-j", "addr", "show"], check=True).stdout)}
        v100 = links["tap-cust0.100"]["linkinfo"]["info_data"]
        assert (v100["protocol"], v100["id"]) == ("802.1Q", 100)
        outer = links["tap-cust0.200"]["linkinfo"]["info_data"]
        assert (outer["protocol"], outer["id"]) == ("802.1ad", 200)
        inner = links["tap-c0.200.300"]["linkinfo"]["info_data"]
        assert (inner["protocol"], inner["id"]) == ("802.1Q", 300)
        assert "192.0.2.129" in [a["local"] for a in links["tap-cust0.100"]["addr_info"]]
    finally:
        other.stop()
