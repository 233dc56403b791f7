"""Telemetry, config errors and clean stop of cuco-dataplane (the contract of
docs/INTERFACES-draft.md)."""

import ipaddress
import json
import re
import shutil
import subprocess
import sys
import time

import pytest

import cucolab

DROP_REASONS = {
    "eth_truncated", "vlan_truncated", "vlan_too_deep", "not_for_us",
    "unsupported_ethertype", "arp_truncated", "ip4_truncated", "ip4_bad_version", "ip4_bad_ihl",
    "ip4_bad_length", "ip4_bad_checksum", "ip4_martian", "ip6_truncated",
    "ip6_bad_version", "ip6_bad_length", "ip6_ext_truncated", "ip6_ext_too_many",
    "ip6_martian", "no_route", "tx_full", "punt_ratelimit", "punt_full",
}
PUNT_REASONS = {"arp", "local", "multicast", "unresolved", "ttl_expired"}
PORT_KEYS = {"port_id", "device", "role", "tap", "mac", "link_up", "addresses",
             "rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "forwarded",
             "punted", "dropped"}
COUNTERS = ("rx_packets", "tx_packets", "forwarded", "punted", "dropped")


def _ifaces(addrs):
    return {ipaddress.ip_interface(a) for a in addrs}


def test_ports(lab):
    ports = lab.ports()
    assert set(ports) == {p[0] for p in cucolab.PORTS}
    for name, device, role, addrs, _peer in cucolab.PORTS:
        p = ports[name]
        assert PORT_KEYS <= set(p), f"{name}: missing {PORT_KEYS - set(p)}"
        assert p["device"] == device
        assert p["role"] == role
        assert p["tap"] == f"tap-{name}"
        assert p["link_up"] == 1
        assert p["mac"].lower() == lab.mac(name)
        assert _ifaces(p["addresses"]) == _ifaces(addrs)
        for key in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
                    "forwarded", "punted", "dropped"):
            assert isinstance(p[key], int) and p[key] >= 0, (name, key, p[key])


def test_taps_carry_the_ports_mac_and_addresses(lab):
    """The slow path: a tap per port in P-edge, with the port's MAC and
    addresses (the kernel answers ARP/ND and pings through it)."""
    ports = lab.ports()
    for name, _device, _role, addrs, _peer in cucolab.PORTS:
        out = lab.ns_run("edge", ["ip", "-j", "addr", "show", "dev", ports[name]["tap"]],
                         check=True).stdout
        link = json.loads(out)[0]
        assert link["address"].lower() == ports[name]["mac"].lower()
        have = {ipaddress.ip_interface(f"{a['local']}/{a['prefixlen']}")
                for a in link.get("addr_info", [])}
        assert _ifaces(addrs) <= have, f"{ports[name]['tap']} has {have}"


def test_commands_listed(lab):
    cmds = lab.telemetry("/")
    assert "/cuco/ports" in cmds and "/cuco/stats" in cmds


def test_routes(lab):
    """/cuco/routes: routes per family, per source and per FRR protocol. The
    lab's config gives each port an IPv4 and an IPv6 address: a local route
    each (plus the IPv4 subnet broadcasts) and a connected one each."""
    r = lab.telemetry("/cuco/routes")
    nports = len(cucolab.PORTS)
    assert r["sources_ipv4"]["local"] == 2 * nports, r
    assert r["sources_ipv4"]["connected"] == nports, r
    assert r["sources_ipv6"]["local"] == nports, r
    assert r["sources_ipv6"]["connected"] == nports, r
    for fam in ("ipv4", "ipv6"):
        assert set(r[f"sources_{fam}"]) == {"local", "static", "fpm", "neigh",
                                            "connected"}, r
        assert r[fam] >= r[f"sources_{fam}"]["local"] + nports, r
    if not lab.frr:
        assert r["fpm_connected"] == 0, r
        assert r["protocols_ipv4"] == {} and r["protocols_ipv6"] == {}, r


def test_dpctl_routes(lab):
    """The engineers' client shows the same route table as telemetry."""
    r = lab.telemetry("/cuco/routes")
    p = lab.dpctl("--file-prefix", lab.file_prefix, "routes")
    assert p.returncode == 0, p.stderr
    assert f"routes: {r['ipv4']} IPv4, {r['ipv6']} IPv6;" in p.stdout, p.stdout
    assert f"local {r['sources_ipv4']['local']}" in p.stdout
    p = lab.dpctl("--file-prefix", lab.file_prefix, "routes", json_out=True)
    assert json.loads(p.stdout)["ipv4"] == r["ipv4"]
    p = lab.dpctl("--file-prefix", "no-such-dataplane", "routes")
    assert p.returncode == 4 and "no-such-dataplane" in p.stderr


def _check_stats(s):
    for key in COUNTERS:
        assert isinstance(s[key], int) and s[key] >= 0, (key, s.get(key))
    assert DROP_REASONS <= set(s["drops"]), f"missing {DROP_REASONS - set(s['drops'])}"
    assert PUNT_REASONS <= set(s["punts"]), f"missing {PUNT_REASONS - set(s['punts'])}"
    assert s["dropped"] == sum(s["drops"].values()), s
    assert s["punted"] == sum(s["punts"].values()), s


def test_stats(lab):
    # a few packets so that the counters are not all zero
    lab.ns_run("cust", ["ping", "-c", "3", "-i", "0.2", "-W", "1", "203.0.113.2"])
    for _attempt in range(10):
        total = lab.stats()
        per_port = {p[0]: lab.stats(p[0]) for p in cucolab.PORTS}
        if total == lab.stats():
            break  # a quiet moment: the answers are consistent
        time.sleep(0.2)
    _check_stats(total)
    for s in per_port.values():
        _check_stats(s)
    for key in COUNTERS:
        assert total[key] == sum(s[key] for s in per_port.values()), key
    for reason in DROP_REASONS:
        assert total["drops"][reason] == sum(s["drops"][reason] for s in per_port.values())
    assert total["rx_packets"] > 0 and total["forwarded"] > 0
    ports = lab.ports()
    for name, s in per_port.items():
        for key in ("forwarded", "punted", "dropped"):
            # /cuco/ports and /cuco/stats,<port> count the same packets
            assert abs(ports[name][key] - s[key]) <= 5, (name, key)


def test_dpdk_telemetry_client(lab):
    """The stock client answers /cuco/stats (what the README tells users)."""
    client = shutil.which("dpdk-telemetry.py") or "/usr/bin/dpdk-telemetry.py"
    p = subprocess.run([sys.executable, client, "-f", lab.file_prefix],
                       input="/cuco/stats\n", capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    replies = [json.loads(line) for line in p.stdout.splitlines()
               if line.startswith("{")]
    assert replies and "/cuco/stats" in replies[-1], p.stdout
    _check_stats(replies[-1]["/cuco/stats"])


# ---------------------------------------------------------------- bad config
GOOD = """\
# a good config
workers 1
idle-sleep 20
port cust0 {
    device net_af_packet0
    role access
    address 198.51.100.1/24
    address 2001:db8:100::1/64
}
port up0 {
    device net_af_packet1
    role uplink
    address 203.0.113.1/24
    address 2001:db8:200::1/64
}
route 192.0.2.0/24 via 203.0.113.2
"""


def _edit(line_no, new):
    """GOOD with line line_no (1-based) replaced by new (None: deleted)."""
    lines = GOOD.splitlines()
    if new is None:
        del lines[line_no - 1]
    else:
        lines[line_no - 1] = new
    return "\n".join(lines) + "\n"


# name -> (config text, lines the error may point at)
BAD = {
    "unknown_keyword": (_edit(3, "frobnicate 20"), {3}),
    "bad_prefix": (_edit(7, "    address 198.51.100.1/33"), {7}),
    "bad_ipv6_prefix": (_edit(8, "    address 2001:db8:100::1/129"), {8}),
    # without the role line the block spans lines 4-8
    "missing_role": (_edit(6, None), {4, 5, 6, 7, 8}),
    "gateway_on_no_subnet": (_edit(16, "route 192.0.2.0/24 via 198.18.0.1"), {16}),
}


@pytest.fixture(scope="module")
def fresh_ns(lab):
    """A namespace with veths named like the lab's ports, so that a
    dataplane that wrongly went on past a bad config could really start."""
    name = f"{lab.prefix}-cfg"
    cucolab.run(["ip", "netns", "add", name])
    try:
        cucolab.run(["ip", "-n", name, "link", "set", "lo", "up"])
        for port in ("cust0", "up0"):
            cucolab.run(["ip", "-n", name, "link", "add", port, "type", "veth",
                         "peer", "name", f"{port}p"])
            cucolab.run(["ip", "-n", name, "link", "set", port, "up"])
            cucolab.run(["ip", "-n", name, "link", "set", f"{port}p", "up"])
        yield name
    finally:
        for pid in cucolab.netns_pids(name):
            cucolab.kill_pid(pid, timeout=3)
        cucolab.run(["ip", "netns", "delete", name], check=False)


def _run_dataplane(lab, ns, conf, check, file_prefix):
    eal = ["-l", "0,1", "--no-huge", "-m", "512", "--no-pci",
           "--file-prefix", file_prefix,
           "--vdev", "net_af_packet0,iface=cust0", "--vdev", "net_af_packet1,iface=up0"]
    cmd = ["ip", "netns", "exec", ns, str(lab.binary), *eal, "--",
           "--config", str(conf)] + (["--check"] if check else [])
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after 20 s: {' '.join(cmd)}")


def _nothing_created(ns, file_prefix):
    rt = cucolab.DPDK_RUNTIME / file_prefix
    assert not rt.exists(), f"{rt} was created"
    links = json.loads(cucolab.run(["ip", "-n", ns, "-j", "link"]).stdout)
    names = {link["ifname"] for link in links}
    assert names == {"lo", "cust0", "cust0p", "up0", "up0p"}, f"interfaces now: {names}"
    assert not cucolab.netns_pids(ns), "processes left in the namespace"


@pytest.mark.parametrize("check", [True, False], ids=["check", "start"])
@pytest.mark.parametrize("name", list(BAD))
def test_bad_config(lab, fresh_ns, tmp_path, name, check):
    text, lines = BAD[name]
    conf = tmp_path / f"{name}.conf"
    conf.write_text(text)
    fp = f"{lab.prefix}-bad"
    try:
        p = _run_dataplane(lab, fresh_ns, conf, check, fp)
        assert p.returncode == 2, f"status {p.returncode}\n{p.stderr}"
        err = [line for line in p.stderr.splitlines() if line.strip()]
        assert len(err) == 1, f"want one line on stderr, got:\n{p.stderr}"
        m = re.match(rf"^{re.escape(str(conf))}:(\d+): ([^:\s][^:]*): \S", err[0])
        assert m, f"not 'FILE:LINE: FIELD: reason': {err[0]}"
        assert int(m.group(1)) in lines, f"points at line {m.group(1)}: {err[0]}"
        _nothing_created(fresh_ns, fp)
    finally:
        shutil.rmtree(cucolab.DPDK_RUNTIME / fp, ignore_errors=True)


def test_good_config_check(lab, fresh_ns, tmp_path):
    """--check of a good config: status 0 and nothing started (the control
    for test_bad_config)."""
    conf = tmp_path / "good.conf"
    conf.write_text(GOOD)
    fp = f"{lab.prefix}-chk"
    try:
        p = _run_dataplane(lab, fresh_ns, conf, True, fp)
        assert p.returncode == 0, f"status {p.returncode}\n{p.stderr}"
        _nothing_created(fresh_ns, fp)
    finally:
        shutil.rmtree(cucolab.DPDK_RUNTIME / fp, ignore_errors=True)


def test_missing_config_file(lab, fresh_ns, tmp_path):
    fp = f"{lab.prefix}-mis"
    try:
        p = _run_dataplane(lab, fresh_ns, tmp_path / "nonexistent.conf", True, fp)
        assert p.returncode == 2, f"status {p.returncode}\n{p.stderr}"
        assert len([x for x in p.stderr.splitlines() if x.strip()]) == 1, p.stderr
        _nothing_created(fresh_ns, fp)
    finally:
        shutil.rmtree(cucolab.DPDK_RUNTIME / fp, ignore_errors=True)


# ------------------------------------------------------------ last: the stop
def test_sigterm_stops_cleanly(lab):
    """Must stay the last test of the module: it stops the lab's dataplane."""
    assert lab.alive(), "cuco-dataplane is not running:\n" + lab.log_tail()
    t0 = time.monotonic()
    rc = lab.terminate_dataplane(timeout=5.0)
    took = time.monotonic() - t0
    assert not lab.killed, "still running 5 s after SIGTERM (killed)"
    assert rc == 0, f"exit status {rc} after SIGTERM"
    print(f"stopped {took:.2f} s after SIGTERM")
    links = json.loads(lab.ns_run("edge", ["ip", "-j", "link"], check=True).stdout)
    taps = [link["ifname"] for link in links if link["ifname"].startswith("tap-")]
    assert not taps, f"taps left after the dataplane stopped: {taps}"

