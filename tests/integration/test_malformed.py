"""Malformed frames are dropped and counted, and the dataplane keeps going.

Frames are built with scapy and sent raw on P-cust's eth0 to the MAC of the
appliance's port cust0; each kind is sent FLOOD times, then the per-reason
drop counters of cust0 must have grown by at least that much, and nothing of
it may have been forwarded. A final mixed flood of every kind checks the
totals and that traffic still crosses afterwards.

What a veth + af_packet can deliver (checked on Debian 12's kernel):
- Ethernet frames shorter than 14 bytes: the kernel refuses to send them
  (AF_PACKET), so eth_truncated cannot be reached here (the test skips).
- A frame that ends inside its first VLAN tag: the receiving kernel drops it
  while untagging, before af_packet sees it; not sent here.
- The outer tag of a tagged frame reaches af_packet as metadata and DPDK
  puts it back as 802.1Q (0x8100) whatever the original TPID (0x88a8): the
  bytes after it arrive unchanged, so QinQ frames still test the parser.
"""

import re
import time

import pytest
from scapy.compat import raw
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

FLOOD = 200          # frames of each kind (af_packet's ring holds 512)
SRC4, DST4 = "198.51.100.2", "203.0.113.2"
SRC6, DST6 = "2001:db8:100::2", "2001:db8:200::2"


def _ip4(**kw):
    return IP(src=SRC4, dst=DST4, **kw) / UDP(sport=4000, dport=4001) / Raw(b"x" * 8)


def _ip6(**kw):
    return IPv6(src=SRC6, dst=DST6, **kw)


def _bad_checksum(e):
    pkt = IP(raw(IP(src=SRC4, dst=DST4) / UDP(sport=4000, dport=4001)))
    return raw(e / IP(src=SRC4, dst=DST4, chksum=pkt.chksum ^ 0x5a5a)
               / UDP(sport=4000, dport=4001))


# name -> (build(eth) -> frame bytes, drop reasons that fit). Where the
# specification allows more than one check to fire first, every fitting
# reason is accepted; the frame must be dropped and counted either way.
KINDS = {
    "eth_short": (lambda e: raw(e)[:10], {"eth_truncated"}),
    "not_for_us": (lambda e: raw(Ether(dst="02:00:5e:00:53:99", src=e.src)
                                 / _ip4()), {"not_for_us"}),
    "unsupported_ethertype": (lambda e: raw(Ether(dst=e.dst, src=e.src, type=0x88b5)
                                            / Raw(b"\0" * 46)),
                              {"unsupported_ethertype"}),
    "ip4_truncated_header": (lambda e: raw(e / _ip4())[:14 + 10], {"ip4_truncated"}),
    "ip4_ihl_below_5": (lambda e: raw(e / _ip4(ihl=4)), {"ip4_bad_ihl"}),
    "ip4_ihl_beyond_packet": (lambda e: raw(e / IP(src=SRC4, dst=DST4, ihl=15)
                                            / Raw(b"x" * 8)),
                              {"ip4_bad_ihl", "ip4_truncated", "ip4_bad_length"}),
    "ip4_total_length_beyond_frame": (lambda e: raw(e / _ip4(len=1000)),
                                      {"ip4_bad_length", "ip4_truncated"}),
    "ip4_total_length_below_header": (lambda e: raw(e / _ip4(len=16)),
                                      {"ip4_bad_length"}),
    "ip4_bad_checksum": (_bad_checksum, {"ip4_bad_checksum"}),
    "ip4_bad_version": (lambda e: raw(e / _ip4(version=6)), {"ip4_bad_version"}),
    "ip6_truncated_header": (lambda e: raw(e / _ip6() / UDP())[:14 + 20],
                             {"ip6_truncated"}),
    "ip6_bad_version": (lambda e: raw(e / _ip6(version=4) / UDP()),
                        {"ip6_bad_version"}),
    "ip6_payload_length_lies": (lambda e: raw(e / _ip6(plen=1000) / UDP()),
                                {"ip6_bad_length", "ip6_truncated"}),
    # destination options header cut after 4 of its 8 bytes
    "ip6_ext_cut": (lambda e: raw(e / _ip6(nh=60) / Raw(b"\x11\x00\x00\x00")),
                    {"ip6_ext_truncated"}),
    # destination options header claiming 24 bytes, 8 present
    "ip6_ext_length_lies": (lambda e: raw(e / _ip6(nh=60)
                                          / Raw(b"\x11\x02" + b"\x01\x04" + b"\0" * 4)),
                            {"ip6_ext_truncated"}),
    "ip6_ext_chain_too_long": (lambda e: raw(e / _ip6()
                                             / _chain(20) / UDP(sport=4000, dport=4001)),
                               {"ip6_ext_too_many"}),
    "vlan_ip4_truncated": (lambda e: raw(e / Dot1Q(vlan=10) / _ip4())[:18 + 10],
                           {"ip4_truncated"}),
    "qinq_inner_tag_truncated": (lambda e: raw(Ether(dst=e.dst, src=e.src, type=0x88a8)
                                               / Dot1Q(vlan=10, type=0x8100)
                                               / Raw(b"\x00\x14")),
                                 {"vlan_truncated"}),
    "qinq_ip6_truncated": (lambda e: raw(Ether(dst=e.dst, src=e.src, type=0x88a8)
                                         / Dot1Q(vlan=10, type=0x8100)
                                         / Dot1Q(vlan=20) / _ip6() / UDP())[:22 + 20],
                           {"ip6_truncated"}),
    "three_vlan_tags": (lambda e: raw(Ether(dst=e.dst, src=e.src, type=0x88a8)
                                      / Dot1Q(vlan=10, type=0x8100)
                                      / Dot1Q(vlan=20, type=0x8100)
                                      / Dot1Q(vlan=30) / _ip4()),
                        {"vlan_too_deep"}),
}


def _chain(n):
    hdrs = IPv6ExtHdrDestOpt()
    for _ in range(n - 1):
        hdrs = hdrs / IPv6ExtHdrDestOpt()
    return hdrs


@pytest.fixture(scope="module")
def macs(lab):
    port_mac = lab.ports()["cust0"]["mac"]
    assert port_mac.lower() == lab.mac("cust0"), "telemetry MAC != veth MAC"
    cust_mac = lab.ns_run("cust", ["cat", "/sys/class/net/eth0/address"],
                          check=True).stdout.strip()
    return port_mac, cust_mac


def _frame(kind, macs):
    port_mac, cust_mac = macs
    return KINDS[kind][0](Ether(dst=port_mac, src=cust_mac))


def _delta(after, before, reasons):
    return sum(after["drops"].get(r, 0) - before["drops"].get(r, 0) for r in reasons)


def _grown(after, before):
    return {r: n - before["drops"].get(r, 0) for r, n in after["drops"].items()
            if n != before["drops"].get(r, 0)}


def _wait_drops(lab, before, reasons, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        after = lab.stats("cust0")
        if _delta(after, before, reasons) >= want or time.monotonic() > deadline:
            time.sleep(0.2)   # let anything late arrive before judging
            return lab.stats("cust0")
        time.sleep(0.05)


@pytest.mark.parametrize("kind", list(KINDS))
def test_malformed_kind_dropped(lab, macs, kind):
    reasons = KINDS[kind][1]
    frame = _frame(kind, macs)
    before = lab.stats("cust0")
    sent, refused = lab.send_frames("cust", "eth0", [frame] * FLOOD)
    if sent == 0:
        pytest.skip(f"the kernel refuses to send this {len(frame)}-byte frame "
                    "on a veth; it cannot reach the dataplane here")
    assert refused == 0, f"{refused} of {FLOOD} frames refused by the kernel"
    after = _wait_drops(lab, before, reasons, sent)
    assert lab.alive(), "cuco-dataplane died:\n" + lab.log_tail()
    got = _delta(after, before, reasons)
    assert got >= sent, (f"{kind} ({len(frame)} bytes {frame.hex()}): sent {sent}, "
                         f"drops in {sorted(reasons)} grew by {got}; "
                         f"all drop counters that moved: {_grown(after, before)}")
    assert after["dropped"] - before["dropped"] >= sent
    fwd = after["forwarded"] - before["forwarded"]
    assert fwd == 0, f"{fwd} {kind} frames were forwarded"


def test_mixed_flood_then_traffic_still_crosses(lab, macs):
    frames = []
    for kind in KINDS:
        frame = _frame(kind, macs)
        if len(frame) >= 14:
            frames += [frame] * 100
    frames = frames[::2] + frames[1::2]   # interleave the kinds a little
    before = lab.stats("cust0")
    sent, refused = lab.send_frames("cust", "eth0", frames)
    assert refused == 0 and sent == len(frames)
    all_reasons = set().union(*(r for _b, r in KINDS.values()))
    after = _wait_drops(lab, before, all_reasons, sent, timeout=10)
    assert lab.alive(), "cuco-dataplane died:\n" + lab.log_tail()
    got = _delta(after, before, all_reasons)
    assert got >= sent, f"sent {sent} malformed frames, {got} counted: {_grown(after, before)}"
    assert after["forwarded"] == before["forwarded"]
    for dst in ("203.0.113.2", "2001:db8:200::2"):
        p = lab.ns_run("cust", ["ping", "-n", "-c", "5", "-i", "0.2", "-W", "1", dst],
                       timeout=30)
        m = re.search(r"(\d+) received", p.stdout)
        assert m and int(m.group(1)) >= 3, f"after the flood, ping {dst}:\n{p.stdout}{p.stderr}"
        assert "DUP!" not in p.stdout, p.stdout
