"""Routes from FRR drive the fast path (issue 9).

The lab runs FRR (cucolab frr=True): zebra in P-edge feeds the dataplane over
FPM; the upstream router in P-up announces 203.0.113.128/25 and
2001:db8:300::/48 (addresses 203.0.113.129 and 2001:db8:300::1 on its
loopback) over BGP through the fast path's slow path. The tests run in file
order: the last ones stop and restart zebra.

After a new FPM feed starts, the dataplane sweeps what zebra has not announced
again once the feed is quiet for fpm-stale-time (2 s here) and at least 10 s +
fpm-stale-time after the start (zebra's clients reconnect to a restarted zebra
up to 10 s later).
"""

import json

import random
import re
import struct
import sys
import time

import pytest

import cucolab

LAB_OPTIONS = {"frr": True, "fpm_stale_time": 2}

BGP_DST = {"ipv4": "203.0.113.129", "ipv6": "2001:db8:300::1"}
BGP_NET = {"ipv4": cucolab.UP_NET4, "ipv6": cucolab.UP_NET6}
AF = {"ipv4": 2, "ipv6": 10}


def routes(lab):
    return lab.telemetry("/cuco/routes")


def fpm_count(lab, fam, proto):
    return routes(lab)[f"protocols_{fam}"].get(proto, 0)


def wait_for(what, cond, timeout, step=0.1):
    """Poll cond() until it is true, at most timeout seconds; fail saying what."""
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return time.monotonic()
        if time.monotonic() > deadline:
            pytest.fail(f"not after {timeout:g} s: {what}")
        time.sleep(step)


def ping_ok(lab, dst, count=1, wait=1):
    p = lab.ns_run("cust", ["ping", "-n", "-c", str(count), "-i", "0.2", "-W", str(wait),
                            dst], timeout=30)
    m = re.search(r"(\d+) received", p.stdout)
    return int(m.group(1)) if m else 0


def forwarded(lab, port="up0"):
    return lab.stats(port)["forwarded"]


@pytest.fixture(scope="module", autouse=True)
def bgp_up(lab):
    """The upstream's prefixes are in the fast path before the tests start."""
    for fam in ("ipv4", "ipv6"):
        wait_for(f"BGP {fam} route in /cuco/routes ({routes(lab)})",
                 lambda: fpm_count(lab, fam, "bgp") >= 1, 60, step=0.5)


@pytest.mark.parametrize("fam", ["ipv4", "ipv6"])
def test_bgp_routes_carry_traffic(lab, fam):
    before = forwarded(lab)
    got = ping_ok(lab, BGP_DST[fam], count=5)
    assert got >= 4, f"ping {BGP_DST[fam]}: {got} of 5 replies"
    # requests out of up0 and replies out of cust0: the fast path carried them
    assert forwarded(lab) - before >= got - 1


def test_vtysh_works_on_both_sides(lab):
    edge = lab.vtysh("edge", "show bgp summary").stdout
    up = lab.vtysh("up", "show bgp summary").stdout
    assert f"local AS number {cucolab.EDGE_AS}" in edge, edge
    assert f"local AS number {cucolab.UP_AS}" in up, up
    fpm = lab.vtysh("edge", "show fpm counters").stdout
    assert "Connection errors: 0" in fpm, fpm


@pytest.mark.parametrize("fam,net,dst,gw", [
    ("ipv4", "192.0.2.0/24", "192.0.2.1", "203.0.113.2"),
    ("ipv6", "2001:db8:400::/48", "2001:db8:400::1", "2001:db8:200::2"),
])
def test_static_route_from_vtysh_within_a_second(lab, fam, net, dst, gw):
    """A static route added in vtysh carries traffic within a second. Before
    it, the fast path has no route (the kernel's copy does not matter: the
    fast path drops what it has no route for)."""
    ipcmd = "ip" if fam == "ipv4" else "ipv6"
    plen = "32" if fam == "ipv4" else "128"
    lab.ip("up", "addr", "add", f"{dst}/{plen}", "dev", "lo")
    try:
        assert ping_ok(lab, dst, wait=1) == 0, f"{dst} answered before the route"
        lab.vtysh("edge", "configure terminal", f"{ipcmd} route {net} {gw}")
        t0 = time.monotonic()
        wait_for(f"static route {net} in the fast path",
                 lambda: fpm_count(lab, fam, "static") >= 1, 1.0, step=0.02)
        # the first packet may resolve the neighbour through the kernel
        t1 = wait_for(f"ping {dst} through the static route",
                      lambda: ping_ok(lab, dst, wait=1) == 1, 2.0, step=0)
        assert t1 - t0 < 1.0, f"traffic after {t1 - t0:.2f} s"
        before = forwarded(lab)
        assert ping_ok(lab, dst, count=3) == 3
        assert forwarded(lab) - before >= 3
    finally:
        lab.vtysh("edge", "configure terminal", f"no {ipcmd} route {net} {gw}",
                  check=False)
        lab.ip("up", "addr", "del", f"{dst}/{plen}", "dev", "lo")
    wait_for(f"static route {net} gone", lambda: fpm_count(lab, fam, "static") == 0, 5)


@pytest.mark.parametrize("fam", ["ipv4", "ipv6"])
def test_withdrawn_bgp_route_stops_traffic(lab, fam):
    bgp = f"router bgp {cucolab.UP_AS}"
    af = f"address-family {fam} unicast"
    lab.vtysh("up", "configure terminal", bgp, af, f"no network {BGP_NET[fam]}")
    try:
        wait_for(f"withdrawn {fam} route gone from the fast path",
                 lambda: fpm_count(lab, fam, "bgp") == 0, 15, step=0.2)
        assert ping_ok(lab, BGP_DST[fam], count=2) == 0, "withdrawn prefix still answers"
    finally:
        lab.vtysh("up", "configure terminal", bgp, af, f"network {BGP_NET[fam]}",
                  check=False)
    wait_for(f"{fam} route announced again", lambda: fpm_count(lab, fam, "bgp") == 1, 15,
             step=0.2)
    assert ping_ok(lab, BGP_DST[fam], count=3) >= 2


# ---------------------------------------------------------------- FPM frames

def _attr(t, v):
    n = 4 + len(v)
    return struct.pack("=HH", n, t) + v + b"\0" * (-n % 4)


def _route_frame(nl_type, fam, dst, plen, gw=None, oif=None, proto=186):
    rtm = bytes([AF[fam], plen, 0, 0, 254, proto, 0, 1]) + b"\0" * 4
    import socket
    body = rtm + _attr(1, socket.inet_pton(AF[fam], dst))
    if gw:
        body += _attr(5, socket.inet_pton(AF[fam], gw))
    if oif:
        body += _attr(4, struct.pack("=I", oif))
    msg = struct.pack("=IHHII", 16 + len(body), nl_type, 0, 0, 0) + body
    return struct.pack("!BBH", 1, 1, 4 + len(msg)) + msg


# Runs in P-edge: one connection per input line (frames in hex, separated by
# spaces); prints per connection "closed" if the dataplane closed it within
# 3 s, else "open".
_CLIENT = r"""
import socket, sys, time
for line in sys.stdin.read().splitlines():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    for h in line.split():
        try:
            s.sendall(bytes.fromhex(h))
        except OSError:
            break
    s.settimeout(3)
    try:
        closed = s.recv(1) == b""
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    print("closed" if closed else "open", flush=True)
    s.close()
"""


def fpm_client(lab, connections):
    """Send frames to the dataplane's FPM listener, one connection per list
    of frames; returns "closed"/"open" per connection."""
    text = "\n".join(" ".join(f.hex() for f in frames) for frames in connections) + "\n"
    p = lab.ns_run("edge", [sys.executable, "-c", _CLIENT, str(cucolab.FRR_FPM_PORT)],
                   input=text, timeout=120, check=True)
    return p.stdout.split()


def tap_ifindex(lab, tap):
    import json
    out = cucolab.run(["ip", "-n", lab.ns_edge, "-j", "link", "show", tap]).stdout
    return json.loads(out)[0]["ifindex"]


def test_second_connection_refused(lab):
    assert routes(lab)["fpm_connected"] == 1
    assert fpm_client(lab, [[]]) == ["closed"]
    assert "fpm: refused a second connection" in lab.log_text()
    assert routes(lab)["fpm_connected"] == 1, "zebra's connection was dropped"


def test_malformed_frames_are_survived(lab):
    """With zebra stopped, a test client sends bad frames: each closes its
    connection with the reason logged; the dataplane keeps forwarding."""
    lab.stop_frr_daemon("edge", "zebra", sig=9)
    wait_for("zebra's FPM connection closed", lambda: routes(lab)["fpm_connected"] == 0, 5)
    good = _route_frame(24, "ipv4", "203.0.113.0", 26, "203.0.113.2",
                        tap_ifindex(lab, "tap-up0"))
    bad = {
        "FPM version 2": bytes([2]) + good[1:],
        "FPM message type 9": good[:1] + bytes([9]) + good[2:],
        "FPM frame length 5": good[:2] + struct.pack("!H", 5) + good[4:],
        "netlink message 0 has length 9999": good[:4] + struct.pack("=I", 9999) + good[8:],
        "prefix length 40": good[:21] + bytes([40]) + good[22:],
        "attribute 1 has length 2": good[:32] + struct.pack("=H", 2) + good[34:],
    }
    rng = random.Random(9)
    fuzzed = []
    for _ in range(50):
        b = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(4, len(b))] = rng.randrange(256)
        fuzzed.append([bytes(b)])
    log_before = len(lab.log_text())
    res = fpm_client(lab, [[f] for f in bad.values()])
    assert res == ["closed"] * len(bad), res
    log = lab.log_text()[log_before:]
    for reason in bad:
        assert re.search(r"fpm: connection closed: bad frame: .*" + re.escape(reason), log), (
            f"no logged reason '{reason}' in:\n{log}")
    # garbage changed no route: zebra's routes are still in force
    assert fpm_count(lab, "ipv4", "bgp") == 1 and fpm_count(lab, "ipv6", "bgp") == 1
    for fam in ("ipv4", "ipv6"):
        assert ping_ok(lab, BGP_DST[fam], count=3) >= 2, f"{fam} no longer forwarded"
    fpm_client(lab, fuzzed)
    # a good frame after all that is still applied; as a new feed it made
    # zebra's routes stale (zebra is not there to announce them again)
    assert fpm_client(lab, [[good]]) == ["open"]
    wait_for("the test client's route alone",
             lambda: fpm_count(lab, "ipv4", "bgp") == 1
             and fpm_count(lab, "ipv6", "bgp") == 0, 25)
    assert lab.alive(), "cuco-dataplane died"
    # and the fast path still forwards (connected routes of the config)
    for dst in (cucolab.UP_ADDR4, cucolab.UP_ADDR6):
        assert ping_ok(lab, dst.split("/")[0], count=3) >= 2, f"{dst} no longer forwarded"


def test_zebra_restart_converges_without_stale_routes(lab):
    """FRR killed and started again, as watchfrr does when zebra dies (bgpd
    and staticd do not outlive their zebra): the replay brings the BGP
    routes back; the route only the test client announced, and a static
    route that was only in staticd's running config, are swept."""
    lab.vtysh("edge", "configure terminal", "ip route 192.0.2.0/24 203.0.113.2",
              check=False)  # staticd keeps it, not in its config file; zebra is down
    for daemon in ("bgpd", "staticd"):
        lab.stop_frr_daemon("edge", daemon, sig=9)
    for daemon in cucolab.FRR_DAEMONS:
        lab.start_frr_daemon("edge", daemon)
    wait_for("zebra connected again", lambda: routes(lab)["fpm_connected"] == 1, 15)
    wait_for("stale routes swept", lambda: "fpm: resync done" in
             lab.log_text().rsplit("fpm: feed started", 1)[-1], 30, step=0.2)
    wait_for("BGP routes back", lambda: fpm_count(lab, "ipv4", "bgp") == 1
             and fpm_count(lab, "ipv6", "bgp") == 1, 60, step=0.5)
    r = routes(lab)
    assert r["protocols_ipv4"].get("static", 0) == 0, r
    # the test client's 203.0.113.0/26 is gone: the one BGP route is zebra's
    assert r["sources_ipv4"]["fpm"] == sum(r["protocols_ipv4"].values()), r
    for fam in ("ipv4", "ipv6"):
        assert ping_ok(lab, BGP_DST[fam], count=3) >= 2


def zebra_route_count(lab, fam, proto):
    """Routes of proto that zebra has selected and installed (its FIB)."""
    ipcmd = "ip" if fam == "ipv4" else "ipv6"
    out = lab.vtysh("edge", f"show {ipcmd} route {proto} json").stdout
    return sum(1 for entries in json.loads(out or "{}").values()
               for e in entries if e.get("selected") and e.get("installed"))


def test_zebra_alone_restart_converges(lab):
    """Only zebra killed (SIGKILL) and started again; staticd and bgpd keep
    running. They notice the new zebra when their connection retry fires
    (FRR's lib/zclient.c: 10 s after losing zebra). staticd then announces
    its routes again; bgpd (FRR 8.4) announces nothing to a new zebra
    (bgp_zebra_connected(): "TODO - What if we have peers and networks
    configured, do we have to kick-start them?"), so zebra holds no BGP
    route until the sessions are reset. (watchfrr never restarts zebra
    alone: it stops every daemon, restarts zebra, then starts the others.)

    Checked: the fast path holds what zebra holds, never more; the static
    route that stayed in staticd never leaves the fast path (the sweep
    waits for zebra's clients) and carries traffic; the one deleted in
    staticd while zebra was down is swept; after `clear bgp *` the BGP route
    comes back, but not the prefix the peer withdrew while zebra was down."""
    for fam in ("ipv4", "ipv6"):
        wait_for(f"BGP {fam} route back after the full restart",
                 lambda: fpm_count(lab, fam, "bgp") == 1, 60, step=0.5)
    kept, gone, dst, gw = "192.0.2.0/25", "192.0.2.128/25", "192.0.2.1", "203.0.113.2"
    up_bgp = (f"router bgp {cucolab.UP_AS}", "address-family ipv6 unicast")
    lab.ip("up", "addr", "add", f"{dst}/32", "dev", "lo")
    try:
        lab.vtysh("edge", "configure terminal", f"ip route {kept} {gw}", f"ip route {gone} {gw}")
        wait_for("both static routes in the fast path",
                 lambda: fpm_count(lab, "ipv4", "static") == 2, 5, step=0.1)
        wait_for(f"ping {dst} over the static route", lambda: ping_ok(lab, dst) == 1, 5, step=0)

        lab.stop_frr_daemon("edge", "zebra", sig=9)
        wait_for("zebra's FPM connection closed", lambda: routes(lab)["fpm_connected"] == 0, 5)
        # while zebra is down: staticd forgets one route (vtysh reaches
        # staticd without zebra), the upstream withdraws its IPv6 prefix
        lab.vtysh("edge", "configure terminal", f"no ip route {gone} {gw}")
        lab.vtysh("up", "configure terminal", *up_bgp, f"no network {BGP_NET['ipv6']}")
        wait_for("the withdrawal reached the appliance's bgpd",
                 lambda: "not in table" in lab.vtysh(
                     "edge", f"show bgp ipv6 unicast {BGP_NET['ipv6']}", check=False).stdout,
                 15, step=0.2)
        log_mark = len(lab.log_text())
        lab.start_frr_daemon("edge", "zebra")
        # until the new feed's sweep, the kept static route must never leave
        # the fast path
        deadline = time.monotonic() + 45
        while "fpm: resync done" not in lab.log_text(since=log_mark).partition(
                "fpm: feed started")[2]:
            assert fpm_count(lab, "ipv4", "static") >= 1, "the kept static route was swept"
            assert time.monotonic() < deadline, "no sweep within 45 s of zebra's start"
            time.sleep(0.1)
        r = routes(lab)
        assert r["protocols_ipv4"].get("static", 0) == 1, r
        # no stale route: per protocol, the fast path holds what zebra holds
        for fam in ("ipv4", "ipv6"):
            for proto in ("static", "bgp"):
                assert fpm_count(lab, fam, proto) == zebra_route_count(lab, fam, proto), (
                    fam, proto, r)
        before = forwarded(lab)
        assert ping_ok(lab, dst, count=3) == 3
        assert forwarded(lab) - before >= 3

        # bgpd sends its routes to zebra again only when its sessions restart
        lab.vtysh("edge", "clear bgp *")
        wait_for("the IPv4 BGP route back", lambda: fpm_count(lab, "ipv4", "bgp") == 1, 40,
                 step=0.2)
        assert ping_ok(lab, BGP_DST["ipv4"], count=3) >= 2
        assert fpm_count(lab, "ipv6", "bgp") == 0, "the withdrawn IPv6 prefix came back"
        assert zebra_route_count(lab, "ipv6", "bgp") == 0
        assert ping_ok(lab, BGP_DST["ipv6"], count=2) == 0
    finally:
        lab.vtysh("up", "configure terminal", *up_bgp, f"network {BGP_NET['ipv6']}",
                  check=False)
        lab.vtysh("edge", "configure terminal", f"no ip route {kept} {gw}",
                  f"no ip route {gone} {gw}", check=False)
        lab.ip("up", "addr", "del", f"{dst}/32", "dev", "lo")
    wait_for("the IPv6 BGP route announced again",
             lambda: fpm_count(lab, "ipv6", "bgp") == 1, 30, step=0.2)
    wait_for("static routes gone", lambda: fpm_count(lab, "ipv4", "static") == 0, 5)
