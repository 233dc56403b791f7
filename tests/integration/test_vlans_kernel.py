"""VLAN subscribers downstream, with VLAN interfaces in the customer's and
the appliance's kernels (cucolab vlans=True):

    P-cust eth0.100      802.1Q 100          198.51.100.130 2001:db8:100:100::2
                                              subscriber V (VLAN 100 only)
    P-cust eth0.200.300  802.1ad 200 + 300   198.51.100.194 2001:db8:100:200::2
                                              subscriber Q (the pair only)
    appliance            tap-cust0.100, tap-c0.200.300 (config 'vlan')

A packet routed toward them leaves cust0 with their tags, is classified by
the next hop's VLAN (their addresses are nobody's prefixes), counted and
policed downstream. Needs a kernel with 802.1Q (module 8021q): skipped
without it.
"""

import json
import os
import subprocess
import time

import pytest

import cucolab
from test_subscribers import (apply, counters, delta, helper, helper_result, meter,
                              ping, profile, wait_listening)
from test_vlans import _TAG_SNIFFER, sub

LAB_OPTIONS = {"vlans": True}

# The lab itself needs VLAN interfaces: decided before it is built.
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not cucolab.kernel_has_vlans(f"ct{os.getpid()}vprobe"),
    reason="needs root and a kernel with 802.1Q VLAN support (CONFIG_VLAN_8021Q)")

V4, V6 = "198.51.100.130", "2001:db8:100:100::2"
Q4, Q6 = "198.51.100.194", "2001:db8:100:200::2"
UP4 = "203.0.113.2"
RATE_DOWN = 10_000_000
IPERF_PORT = 5202


def baseline():
    return [profile("open"),
            {"op": "profile.upsert", "name": "d10", "up": {"mode": "none"},
             "down": meter(RATE_DOWN)},
            sub("V", vlans=({"outer": 100},)),
            sub("Q", vlans=({"outer": 200, "inner": 300},))]


@pytest.fixture(scope="module")
def net(lab):
    apply(lab, baseline())
    for src in (V4, Q4, V6, Q6):
        dst = UP4 if ":" not in src else "2001:db8:200::2"
        for _try in range(5):
            got, _p = ping(lab, "cust", dst, count=2, source=src)
            if got == 2:
                break
        assert got == 2, f"{src} cannot reach {dst} through its VLAN"
    return lab


@pytest.fixture
def prov(net):
    apply(net, baseline())
    return net


@pytest.mark.parametrize("who,addr,tags", [
    ("V", V4, [[0x8100, 100]]), ("V", V6, [[0x8100, 100]]),
    ("Q", Q4, [[0x88a8, 200], [0x8100, 300]]), ("Q", Q6, [[0x88a8, 200], [0x8100, 300]])])
def test_ping_both_ways_tagged_and_counted(prov, who, addr, tags):
    """From the uplink to the VLAN subscriber and back: the replies arrive,
    the requests reach P-cust's eth0 with the subscriber's tags, and both
    directions are counted for it (its address is no prefix of anybody's)."""
    lab = prov
    c0 = counters(lab, who)
    got, p = ping(lab, "up", addr, count=3)
    assert got == 3, f"{addr} did not answer:\n{p.stdout}"
    c1 = counters(lab, who)
    assert delta(c1, c0, "down", "packets") >= 3
    assert delta(c1, c0, "up", "packets") >= 3
    got, _p = ping(lab, "cust", UP4 if ":" not in addr else "2001:db8:200::2",
                   count=3, source=addr)
    assert got == 3
    # the tags on P-cust's wire, as its kernel reports them: the echo
    # requests and the replies both carry them
    sniff = helper(lab, "cust", _TAG_SNIFFER, "eth0", 3, "icmp")
    ping(lab, "up", addr, count=2)
    seen = json.loads(helper_result(sniff))
    assert seen and all(t == tags for t in seen), seen


def _down_rate(lab, dst, seconds=5):
    server = lab.ns_popen("cust", ["iperf3", "-s", "-1", "-J", "-B", dst,
                                   "-p", str(IPERF_PORT)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(lab, "cust", IPERF_PORT)
    client = lab.ns_popen("up", ["iperf3", "-c", dst, "-p", str(IPERF_PORT), "-t",
                                 str(seconds), "-J", "--connect-timeout", "3000"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, _err = client.communicate(timeout=seconds + 30)
    finally:
        server.kill()
        server.wait(10)
    res = json.loads(out)
    assert "error" not in res, res["error"]
    return res["end"]["sum_received"]["bits_per_second"]


@pytest.mark.parametrize("who,addr", [("V", V4), ("Q", Q4)])
def test_downstream_policed_at_the_profile_rate(prov, who, addr):
    """iperf3 from the uplink to the VLAN subscriber runs at its profile's
    down rate (10 Mbit/s) within 10%, its downstream meter drops counted."""
    lab = prov
    apply(lab, [sub(who, vlans=({"outer": 100},) if who == "V"
                    else ({"outer": 200, "inner": 300},), prof="d10")])
    try:
        rates = []
        for _attempt in range(3):
            c0 = counters(lab, who)
            rates.append(_down_rate(lab, addr))
            c1 = counters(lab, who)
            print(f"{who} downstream: {rates[-1] / 1e6:.2f} Mbit/s")
            if abs(rates[-1] - RATE_DOWN) <= 0.10 * RATE_DOWN:
                break
        else:
            pytest.fail(f"{who} downstream at {rates} bit/s, not {RATE_DOWN}")
        assert delta(c1, c0, "down", "drops", "meter", "packets") > 0
        assert delta(c1, c0, "down", "packets") > 1000
    finally:
        apply(lab, baseline())


@pytest.mark.parametrize("who,addr", [("V", V4), ("Q", Q4)])
def test_suspended_vlan_subscriber_gets_nothing(prov, who, addr):
    lab = prov
    vlans = ({"outer": 100},) if who == "V" else ({"outer": 200, "inner": 300},)
    apply(lab, [sub(who, vlans=vlans, availability="suspended")])
    try:
        c0 = counters(lab, who)
        got_down, _p = ping(lab, "up", addr, count=3)
        got_up, _p = ping(lab, "cust", UP4, count=3, source=addr)
        time.sleep(0.2)
        c1 = counters(lab, who)
    finally:
        apply(lab, baseline())
    assert (got_down, got_up) == (0, 0)
    assert delta(c1, c0, "down", "packets") == 0 and delta(c1, c0, "up", "packets") == 0
    assert delta(c1, c0, "down", "drops", "suspended", "packets") >= 3
    assert delta(c1, c0, "up", "drops", "suspended", "packets") >= 3


def test_lab_describes_vlans(net):
    assert "eth0.200.300" in net.describe()
    assert any(p[0] == "cust0" and p[3][0] == cucolab.VLAN_GW_CUST4
               for p in net.ports_cfg)
