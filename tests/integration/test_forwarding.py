"""The fast path routes between the customer and the uplink side.

P-cust (198.51.100.2, 2001:db8:100::2) -- cust0 [cuco-dataplane] up0 -- P-up
(203.0.113.2, 2001:db8:200::2). Telemetry counters prove that the dataplane,
not the kernel of P-edge, carried the traffic, and no reply may come twice
(the dataplane keeps the kernel of P-edge from acting on its veths).
"""

import json
import re
import subprocess
import time

import pytest

PORTS = ("cust0", "up0")


def ping(lab, ns, dst, count=5, extra=()):
    """Ping from a namespace; returns (replies received, CompletedProcess).
    Fails on duplicate replies: the kernel of P-edge handled a packet that
    the dataplane handled too (it must stay silent on the dataplane's ports)."""
    p = lab.ns_run(ns, ["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "1",
                        *extra, dst], timeout=30)
    assert "DUP!" not in p.stdout, f"duplicate replies from {dst}:\n{p.stdout}"
    m = re.search(r"(\d+) received", p.stdout)
    return (int(m.group(1)) if m else 0), p


def port_stats(lab):
    return {port: lab.stats(port) for port in PORTS}


def wait_listening(lab, ns, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = lab.ns_run(ns, ["ss", "-Hltn", f"sport = :{port}"])
        if p.stdout.strip():
            return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on port {port} in {ns} after {timeout:g} s")


@pytest.mark.parametrize("dst", ["203.0.113.2", "2001:db8:200::2"])
def test_ping_across_fast_path(lab, dst):
    # Let the appliance's kernel resolve both ends first and the dataplane
    # learn them (netlink): on busy CPUs that can take longer than one ping.
    ping(lab, "cust", dst, count=2)
    time.sleep(0.5)
    before = port_stats(lab)
    got, p = ping(lab, "cust", dst)
    after = port_stats(lab)
    assert got >= 3, f"ping {dst}: {got} of 5 replies\n{p.stdout}{p.stderr}"
    for port in PORTS:
        fwd = after[port]["forwarded"] - before[port]["forwarded"]
        # the first request may go through the kernel while the next hop
        # is resolved; all later requests and replies take the fast path
        assert fwd >= got - 1, (f"{port} forwarded {fwd} packets for {got} "
                                f"echo replies: the fast path did not carry them")


@pytest.mark.parametrize("ns,dst", [("cust", "198.51.100.1"),
                                    ("cust", "2001:db8:100::1"),
                                    ("up", "203.0.113.1"),
                                    ("up", "2001:db8:200::1")])
def test_ping_appliance(lab, ns, dst):
    """The appliance's own addresses answer: the dataplane punts the echo
    requests to its tap, the kernel replies through it."""
    port = "cust0" if ns == "cust" else "up0"
    before = lab.stats(port)["punts"].get("local", 0)
    got, p = ping(lab, ns, dst)
    after = lab.stats(port)["punts"].get("local", 0)
    assert got >= 3, f"ping {dst} from {ns}: {got} of 5 replies\n{p.stdout}{p.stderr}"
    assert after - before >= got, (f"{port} punted {after - before} packets "
                                   f"as local for {got} echo replies")


@pytest.mark.parametrize("dst", ["203.0.113.2", "2001:db8:200::2"])
def test_iperf3_tcp(lab, dst):
    """5 s of TCP from P-cust to P-up through the fast path."""
    port = 5201
    before = port_stats(lab)
    server = lab.ns_popen("up", ["iperf3", "-s", "-1", "-p", str(port)],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        wait_listening(lab, "up", port)
        p = lab.ns_run("cust", ["iperf3", "-c", dst, "-p", str(port), "-t", "5",
                                "-J", "--connect-timeout", "3000"], timeout=40)
    finally:
        server.kill()
        server.wait(10)
    try:
        res = json.loads(p.stdout)
    except ValueError:
        pytest.fail(f"iperf3 printed no JSON (status {p.returncode}):\n"
                    f"{p.stdout}{p.stderr}")
    assert "error" not in res, f"iperf3: {res['error']}"
    assert p.returncode == 0, p.stderr
    bps = res["end"]["sum_received"]["bits_per_second"]
    print(f"iperf3 TCP to {dst}: {bps / 1e6:.0f} Mbit/s")
    assert bps > 0
    after = port_stats(lab)
    for port_name in PORTS:
        fwd = after[port_name]["forwarded"] - before[port_name]["forwarded"]
        assert fwd > 1000, (f"{port_name} forwarded only {fwd} packets during "
                            "a 5 s TCP transfer: the fast path did not carry it")


@pytest.mark.parametrize("dst,router,text", [
    ("203.0.113.2", "198.51.100.1", "Time to live exceeded"),
    ("2001:db8:200::2", "2001:db8:100::1", "Time exceeded"),
])
def test_ttl_expiry(lab, dst, router, text):
    """A packet whose TTL / hop limit expires at the appliance is punted; the
    kernel answers ICMP time exceeded from the appliance's address."""
    before = lab.stats("cust0")["punts"].get("ttl_expired", 0)
    _got, p = ping(lab, "cust", dst, count=3, extra=("-t", "1"))
    after = lab.stats("cust0")["punts"].get("ttl_expired", 0)
    assert re.search(rf"From {re.escape(router)}\b.*{text}", p.stdout), (
        f"no '{text}' from {router}:\n{p.stdout}{p.stderr}")
    assert after - before >= 1, "no ttl_expired punt counted on cust0"
