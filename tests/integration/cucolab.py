"""CuCo Edge lab: network namespaces, veth pairs, a running cuco-dataplane.

Used by scripts/lab (a lab to play with) and by the integration tests (one lab
per test module). Everything is named after a prefix P so that labs never
collide:

    P-cust   customer side  eth0 198.51.100.2/24 2001:db8:100::2/64
                            default routes via the appliance
    P-edge   the appliance  cust0 (veth to P-cust), up0 (veth to P-up);
                            cuco-dataplane runs here, owns both veths through
                            af_packet and creates its taps here
    P-up     uplink side    eth0 203.0.113.2/24 2001:db8:200::2/64
                            routes to the customer prefixes via the appliance

With uplinks=2 (scripts/lab --uplinks 2) a second uplink port up1 of the
appliance (192.0.2.1/25, 2001:db8:200:1::1/64) reaches P-up's eth1
(192.0.2.2/25, 2001:db8:200:1::2/64): two paths to the same router, for ECMP.

With vlans=True (cucolab run --vlans) the customer side also has VLAN
subscribers' interfaces on P-cust's eth0, and the appliance a VLAN
sub-interface for each (config 'vlan' of port cust0); cust0's untagged subnet
shrinks to 198.51.100.0/25 to make room:

    eth0.100      802.1Q 100      198.51.100.130/26 2001:db8:100:100::2/64
    eth0.200.300  802.1ad 200,    198.51.100.194/26 2001:db8:100:200::2/64
                  802.1Q 300      (MTU 1496: a veth takes 4 bytes of tags)
    appliance     tap-cust0.100   198.51.100.129/26 2001:db8:100:100::1/64
                  tap-c0.200.300  198.51.100.193/26 2001:db8:100:200::1/64

Each VLAN address of P-cust routes by its own default route (policy routing:
`from ADDRESS lookup TABLE`), so a test picks the VLAN by the source address.

With frr=True (scripts/lab --frr) FRR runs in P-edge (zebra with the FPM
module feeding the dataplane on 127.0.0.1 port 2620, staticd, bgpd, AS 64500)
and in P-up (the upstream router, AS 64501, holding 203.0.113.129/25 and
2001:db8:300::1/48 on its loopback and announcing 203.0.113.128/25 and
2001:db8:300::/48). They peer over IPv4 and IPv6 through the fast path's slow
path. Each side's FRR runs from P/frr-edge or P/frr-up (configs, pid files,
vty sockets, zserv socket, logs; owned by frr): `vtysh --vty_socket DIR`.

State lives in ${CUCO_LAB_DIR:-<repo>/.lab}/P/: the dataplane config, its log
(dataplane.log, kept after teardown) and state.json (pids and namespaces this
lab created, so that a later run can remove what a killed run left).

Only the Python standard library is used here (scapy stays in the tests).
Run it with Debian's /usr/bin/python3.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO / "build" / "dataplane" / "cuco-dataplane"
# the provisioning client, built beside the dataplane (<build dir>/controlplane/...)
DPCTL_IN_BUILD = Path("controlplane") / "provision" / "cuco-dpctl"
DEFAULT_DPCTL = REPO / "build" / DPCTL_IN_BUILD
# EAL memory (MiB, --no-huge): routes, mbufs and the double-buffered
# subscriber tables at their default sizes
DEFAULT_MEMORY_MB = 1024
DPDK_RUNTIME = Path("/var/run/dpdk")
FRR_RUN_ROOT = Path("/run/cuco-lab")
READY_LINE = "cuco-dataplane: ready"

# The topology. Addresses are documentation prefixes only.
CUST_ADDR4, CUST_ADDR6 = "198.51.100.2/24", "2001:db8:100::2/64"
UP_ADDR4, UP_ADDR6 = "203.0.113.2/24", "2001:db8:200::2/64"
# (port name, DPDK device, role, addresses, namespace key of its peer)
PORTS = (
    ("cust0", "net_af_packet0", "access",
     ("198.51.100.1/24", "2001:db8:100::1/64"), "cust"),
    ("up0", "net_af_packet1", "uplink",
     ("203.0.113.1/24", "2001:db8:200::1/64"), "up"),
)
GW_CUST4, GW_CUST6 = "198.51.100.1", "2001:db8:100::1"
GW_UP4, GW_UP6 = "203.0.113.1", "2001:db8:200::1"
# The second uplink (uplinks=2): up1 <-> P-up eth1. 203.0.113.0/24 is all
# up0's, so this one takes the lower half of 192.0.2.0/24.
UP1_PORT = ("up1", "net_af_packet2", "uplink",
            ("192.0.2.1/25", "2001:db8:200:1::1/64"), "up")
UP1_ADDR4, UP1_ADDR6 = "192.0.2.2/25", "2001:db8:200:1::2/64"
GW_UP1_4, GW_UP1_6 = "192.0.2.1", "2001:db8:200:1::1"
# interface of the peer namespace at the far end of each port's veth
PEER_IFACE = {"up1": "eth1"}

PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,30}$")

# vlans=True: VLAN subscribers on P-cust's eth0 (see the module's text).
# cust0's untagged subnet is then a /25.
VLAN_CUST_ADDR4, VLAN_GW_CUST4 = "198.51.100.2/25", "198.51.100.1/25"
# (interface in P-cust, outer, inner, appliance addresses, customer addresses,
#  routing table in P-cust, the appliance's interface name if not the default)
VLANS = (
    ("eth0.100", 100, 0, ("198.51.100.129/26", "2001:db8:100:100::1/64"),
     ("198.51.100.130/26", "2001:db8:100:100::2/64"), 100, None),
    ("eth0.200.300", 200, 300, ("198.51.100.193/26", "2001:db8:100:200::1/64"),
     ("198.51.100.194/26", "2001:db8:100:200::2/64"), 200, "tap-c0.200.300"),
)
# two tags on a 1500-byte veth leave room for 1496 bytes of IP
QINQ_MTU = 1496

# FRR (frr=True): the appliance (AS 64500) and the upstream router in P-up
# (AS 64501) peer over IPv4 and IPv6 through the fast path's slow path. The
# upstream announces prefixes it holds on its loopback.
FRR_DIR = Path("/usr/lib/frr")
FRR_FPM_PORT = 2620
EDGE_AS, UP_AS = 64500, 64501
UP_LO4, UP_LO6 = "203.0.113.129/25", "2001:db8:300::1/48"
UP_NET4, UP_NET6 = "203.0.113.128/25", "2001:db8:300::/48"
FRR_DAEMONS = ("zebra", "staticd", "bgpd")


class LabError(Exception):
    """The lab could not be built, or the dataplane did not come up."""


class TelemetryError(Exception):
    """The dataplane's telemetry socket did not answer as expected."""


def _stderr(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, check=True, timeout=60, input=None):
    """Run cmd (list), capture text output; raise LabError if check fails."""
    try:
        p = subprocess.run(cmd, input=input, capture_output=True, text=True,
                           timeout=timeout, stdin=None if input is not None
                           else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"timed out after {timeout} s: {shlex.join(cmd)}") from e
    if check and p.returncode != 0:
        raise LabError(f"failed ({p.returncode}): {shlex.join(cmd)}\n"
                       f"{p.stdout}{p.stderr}".rstrip())
    return p


def netns_exists(name):
    return (Path("/var/run/netns") / name).exists()


def netns_pids(name):
    p = run(["ip", "netns", "pids", name], check=False)
    return [int(x) for x in p.stdout.split() if x.isdigit()]


def _proc_starttime(pid):
    """Start time of pid in clock ticks since boot, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may contain spaces; fields after ')' are safe
    return int(stat.rsplit(")", 1)[1].split()[19])


def _pid_alive(pid, starttime=None):
    st = _proc_starttime(pid)
    if st is None:
        return False
    if starttime is not None and st != starttime:
        return False  # the pid was reused by another process
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_pid(pid, timeout=10.0, starttime=None):
    """SIGTERM pid, wait up to timeout, then SIGKILL. Returns True if it had
    to be killed with SIGKILL. Works for processes that are not our
    children (leftovers of an earlier run)."""
    if not _pid_alive(pid, starttime):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid, starttime):
            return False
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _pid_alive(pid, starttime):
        time.sleep(0.05)
    return True


def telemetry_query(file_prefix, cmd, timeout=5.0):
    """Send one command to a DPDK application's telemetry socket (v2) and
    return the value of its answer {"<cmd>": value}. None means DPDK did not
    know the command (or its parameters)."""
    path = DPDK_RUNTIME / file_prefix / "dpdk_telemetry.v2"
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            info = json.loads(s.recv(1 << 16).decode())
            s.send(cmd.encode())
            raw = s.recv(max(int(info.get("max_output_len", 16384)), 1 << 16) * 2)
        except (OSError, ValueError) as e:
            raise TelemetryError(f"telemetry {path}: {cmd}: {e}") from e
    try:
        reply = json.loads(raw.decode())
    except ValueError as e:
        raise TelemetryError(f"telemetry {cmd}: not JSON: {raw[:200]!r}") from e
    key = cmd.split(",", 1)[0]
    if not isinstance(reply, dict) or key not in reply:
        raise TelemetryError(f"telemetry {cmd}: unexpected answer {reply!r:.300}")
    return reply[key]


def kernel_has_vlans(ns):
    """Whether this kernel makes 802.1Q interfaces (CONFIG_VLAN_8021Q): tried
    on a veth in a throwaway namespace ns, removed again. Needs root."""
    run(["ip", "netns", "add", ns])
    try:
        run(["ip", "-n", ns, "link", "add", "p0", "type", "veth", "peer", "name", "p1"])
        return run(["ip", "-n", ns, "link", "add", "link", "p0", "name", "p0.5",
                    "type", "vlan", "id", "5"], check=False).returncode == 0
    finally:
        run(["ip", "netns", "delete", ns], check=False)


class Lab:
    """One lab. Use as a context manager, or start() / stop().

    kernel=True builds the same topology but lets the Linux kernel of P-edge
    route between cust0 and up0 instead of the dataplane: a baseline to tell
    a topology problem from a dataplane problem. frr=True adds FRR (see the
    module's text); fpm_stale_time goes to the dataplane's config.
    """

    def __init__(self, prefix, *, workers=1, idle_sleep=20, binary=None,
                 state_root=None, ready_timeout=30.0, kernel=False, frr=False,
                 fpm_stale_time=2, say=None, memory_mb=DEFAULT_MEMORY_MB, dpctl=None,
                 config_extra=(), port_extra=None, uplinks=1, vlans=False):
        if not PREFIX_RE.match(prefix):
            raise ValueError(f"lab prefix {prefix!r}: use [a-z][a-z0-9]*, "
                             "at most 31 characters")
        if uplinks not in (1, 2):
            raise ValueError(f"uplinks {uplinks!r}: 1 or 2")
        self.prefix = prefix
        # the dataplane's ports: (name, device, role, addresses, peer namespace)
        self.ports_cfg = PORTS + ((UP1_PORT,) if uplinks == 2 else ())
        self.vlans = bool(vlans)
        if self.vlans:
            cust = self.ports_cfg[0]
            self.ports_cfg = ((*cust[:3], (VLAN_GW_CUST4, cust[3][1]), cust[4]),
                              *self.ports_cfg[1:])
        self.workers = int(workers)
        self.idle_sleep = int(idle_sleep)
        self.binary = Path(binary or os.environ.get("CUCO_DATAPLANE")
                           or DEFAULT_BINARY)
        self.memory_mb = int(memory_mb)
        # top-level config lines added after the defaults (e.g. "usage-interval 1000")
        self.config_extra = tuple(config_extra)
        # extra lines inside a port's block, e.g. {"cust0": ["shape 1G"]}
        self.port_extra = {k: tuple(v) for k, v in (port_extra or {}).items()}
        self.dpctl_path = Path(dpctl or os.environ.get("CUCO_DPCTL")
                               or self._dpctl_beside_binary())
        root = state_root or os.environ.get("CUCO_LAB_DIR") or REPO / ".lab"
        self.dir = Path(root) / prefix
        self.ready_timeout = ready_timeout
        self.kernel = kernel
        self.frr = frr
        self.fpm_stale_time = int(fpm_stale_time)
        self.frr_procs = {}  # (side, daemon) -> Popen
        self.say = say or (lambda msg: None)
        self.ns = {"cust": f"{prefix}-cust", "up": f"{prefix}-up",
                   "edge": f"{prefix}-edge"}
        self.ns_cust, self.ns_up, self.ns_edge = (
            self.ns["cust"], self.ns["up"], self.ns["edge"])
        self.file_prefix = f"{prefix}-dp"
        self.config_path = self.dir / "dataplane.conf"
        self.log_path = self.dir / "dataplane.log"
        self.state_path = self.dir / "state.json"
        self.proc = None
        self.exit_status = None
        self.killed = False
        self._log_start = 0  # where the running dataplane's output begins
        self._created = []
        self._pids = []

    # ------------------------------------------------------------ life cycle
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        """Clean leftovers, build the topology, start the dataplane and wait
        until it is ready. On any failure, tear down what was made and raise."""
        try:
            self.cleanup_leftovers()
            self.dir.mkdir(parents=True, exist_ok=True)
            self._save_state()
            self._build_topology()
            if self.kernel:
                self._kernel_routing()
            else:
                self.config_path.write_text(self.config_text())
                self._start_dataplane()
                self._wait_ready()
            if self.frr:
                self._start_frr()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Tear down everything this lab made: the dataplane (SIGTERM, then
        SIGKILL after 10 s), every process left in its namespaces, the
        namespaces, the DPDK runtime directory. Idempotent. Returns the
        dataplane's exit status (None if it never ran)."""
        for key in list(self.frr_procs):
            self.stop_frr_daemon(*key)
        if self.proc is not None and self.exit_status is None:
            self.terminate_dataplane(timeout=10.0)
        for key in ("cust", "up", "edge"):
            name = self.ns[key]
            if netns_exists(name):
                for pid in netns_pids(name):
                    kill_pid(pid, timeout=3.0)
                run(["ip", "netns", "delete", name], check=False)
        self._remove_runtime_dir()
        self._remove_frr_dirs(keep_logs=True)
        self._created = []
        self._pids = []
        if self.state_path.exists():
            self.state_path.unlink()
        return self.exit_status

    def terminate_dataplane(self, timeout=10.0):
        """SIGTERM the dataplane and wait up to timeout; SIGKILL it after
        that (self.killed says so). Returns its exit status: 0 for a clean
        stop, -N when it died of signal N."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.say(f"lab {self.prefix}: dataplane pid {self.proc.pid} "
                         f"still running {timeout:g} s after SIGTERM: SIGKILL")
                self.proc.kill()
                self.proc.wait(10)
        self.exit_status = self.proc.returncode
        self._pids = []
        self._save_state()
        return self.exit_status

    def cleanup_leftovers(self):
        """Remove what an earlier run with this prefix left behind (it was
        killed, or crashed): its processes, namespaces, runtime dir."""
        state = {}
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            pass
        for entry in state.get("pids", []):
            pid, st = entry.get("pid"), entry.get("starttime")
            if pid and _pid_alive(pid, st):
                self.say(f"lab {self.prefix}: stopping leftover process {pid} "
                         f"({entry.get('what', '?')}) of an earlier run")
                kill_pid(pid, timeout=10.0, starttime=st)
        names = set(state.get("namespaces", [])) | set(self.ns.values())
        # and any other namespace named after this lab (tests add some)
        listed = run(["ip", "netns", "list"], check=False).stdout.split("\n")
        names |= {line.split()[0] for line in listed
                  if line.startswith(self.prefix + "-")}
        for name in sorted(names):
            if not netns_exists(name):
                continue
            for pid in netns_pids(name):
                self.say(f"lab {self.prefix}: stopping leftover process {pid} "
                         f"in namespace {name}")
                kill_pid(pid, timeout=10.0)
            self.say(f"lab {self.prefix}: deleting leftover namespace {name}")
            run(["ip", "netns", "delete", name], check=False)
        rt = DPDK_RUNTIME / self.file_prefix
        if rt.exists():
            self.say(f"lab {self.prefix}: removing leftover {rt}")
            self._remove_runtime_dir()
        if self.frr_run_root().exists():
            self.say(f"lab {self.prefix}: removing leftover {self.frr_run_root()}")
            self._remove_frr_dirs(keep_logs=False)
        if self.state_path.exists():
            self.state_path.unlink()

    def _remove_runtime_dir(self):
        shutil.rmtree(DPDK_RUNTIME / self.file_prefix, ignore_errors=True)

    def _save_state(self):
        if not self.dir.exists():
            return
        state = {"prefix": self.prefix, "namespaces": self._created,
                 "pids": self._pids, "file_prefix": self.file_prefix,
                 "config": str(self.config_path), "log": str(self.log_path)}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1) + "\n")
        tmp.replace(self.state_path)

    # -------------------------------------------------------------- topology
    def _add_netns(self, key):
        name = self.ns[key]
        run(["ip", "netns", "add", name])
        self._created.append(name)
        self._save_state()
        self.ip(key, "link", "set", "lo", "up")

    def _sysctl(self, key, *settings):
        self.ns_run(key, ["sysctl", "-q", "-w", *settings], check=True)

    def _build_topology(self):
        for key in ("edge", "cust", "up"):
            self._add_netns(key)
        for port, _dev, _role, _addrs, peer in self.ports_cfg:
            # created inside the namespaces: nothing ever shows in the host
            self.ip("edge", "link", "add", port, "type", "veth", "peer",
                    "name", PEER_IFACE.get(port, "eth0"), "netns", self.ns[peer])
            # The edge end belongs to the dataplane (af_packet), as a NIC
            # bound to DPDK would, and carries no address. The dataplane
            # itself keeps the kernel of P-edge from answering or routing on
            # it (the tests check that no packet is handled twice); DAD and
            # router advertisements have no business there either.
            self._sysctl("edge", f"net.ipv6.conf.{port}.accept_dad=0",
                         f"net.ipv6.conf.{port}.accept_ra=0")
            self.ip("edge", "link", "set", port, "up")
        for key, a4, a6, routes in (
                ("cust", VLAN_CUST_ADDR4 if self.vlans else CUST_ADDR4, CUST_ADDR6,
                 (("-4", "default", GW_CUST4), ("-6", "default", GW_CUST6))),
                ("up", UP_ADDR4, UP_ADDR6,
                 (("-4", "198.51.100.0/24", GW_UP4),
                  ("-6", "2001:db8:100::/48", GW_UP6)))):
            self._sysctl(key, "net.ipv6.conf.eth0.accept_dad=0",
                         "net.ipv6.conf.eth0.accept_ra=0")
            # without this TCP through af_packet fails (checksums left to a
            # NIC offload that never happens); this also turns TSO off
            self.ns_run(key, ["ethtool", "-K", "eth0", "tx", "off"], check=True)
            self.ip(key, "link", "set", "eth0", "up")
            self.ip(key, "addr", "add", a4, "dev", "eth0")
            self.ip(key, "addr", "add", a6, "dev", "eth0", "nodad")
            for fam, dst, via in routes:
                self.ip(key, fam, "route", "add", dst, "via", via)
        if self.vlans:
            self._customer_vlans()
        if UP1_PORT in self.ports_cfg:
            # the second path to the same router; its replies go back by eth0
            self._sysctl("up", "net.ipv6.conf.eth1.accept_dad=0",
                         "net.ipv6.conf.eth1.accept_ra=0")
            self.ns_run("up", ["ethtool", "-K", "eth1", "tx", "off"], check=True)
            self.ip("up", "link", "set", "eth1", "up")
            self.ip("up", "addr", "add", UP1_ADDR4, "dev", "eth1")
            self.ip("up", "addr", "add", UP1_ADDR6, "dev", "eth1", "nodad")

    def _customer_vlans(self):
        """VLAN interfaces on P-cust's eth0, each address with its own
        default route through its VLAN (policy routing by source)."""
        # replies come back on the VLAN the request left by, whatever the
        # main table says about the source: no reverse-path filter
        self._sysctl("cust", "net.ipv4.conf.all.rp_filter=0",
                     "net.ipv4.conf.default.rp_filter=0",
                     "net.ipv6.conf.default.accept_dad=0",
                     "net.ipv6.conf.default.accept_ra=0")
        made = set()
        for name, outer, inner, gws, addrs, table, _edge_name in VLANS:
            if inner:
                parent = f"eth0.{outer}"
                if parent not in made:
                    self.ip("cust", "link", "add", "link", "eth0", "name", parent,
                            "type", "vlan", "proto", "802.1ad", "id", str(outer))
                    self.ip("cust", "link", "set", parent, "up")
                    made.add(parent)
                self.ip("cust", "link", "add", "link", parent, "name", name,
                        "type", "vlan", "id", str(inner))
                self.ip("cust", "link", "set", name, "mtu", str(QINQ_MTU))
            else:
                self.ip("cust", "link", "add", "link", "eth0", "name", name,
                        "type", "vlan", "id", str(outer))
            self.ns_run("cust", ["ethtool", "-K", name, "tx", "off"], check=True)
            self._sysctl("cust", f"net.ipv4.conf.{name}.rp_filter=0")
            self.ip("cust", "link", "set", name, "up")
            self.ip("cust", "addr", "add", addrs[0], "dev", name)
            self.ip("cust", "addr", "add", addrs[1], "dev", name, "nodad")
            for fam, addr, gw in (("-4", addrs[0], gws[0]), ("-6", addrs[1], gws[1])):
                self.ip("cust", fam, "rule", "add", "from", addr.split("/")[0],
                        "lookup", str(table))
                self.ip("cust", fam, "route", "add", "default", "via", gw.split("/")[0],
                        "dev", name, "table", str(table))

    def _kernel_routing(self):
        for port, _dev, _role, addrs, _peer in self.ports_cfg:
            for a in addrs:
                extra = ["nodad"] if ":" in a else []
                self.ip("edge", "addr", "add", a, "dev", port, *extra)
        self._sysctl("edge", "net.ipv4.ip_forward=1",
                     "net.ipv6.conf.all.forwarding=1")

    # ------------------------------------------------------------------- FRR
    def frr_run_root(self):
        """Where this lab's FRR runs. Not under the repository: FRR drops to
        user frr, which must reach its files, and a checkout may live below a
        directory only root can enter (a fresh clone in a 0700 temp dir)."""
        return FRR_RUN_ROOT / self.prefix

    def frr_dir(self, side):
        """Run directory of FRR for side "edge" or "up": configs, pid files,
        vty sockets, zserv socket and logs, owned by frr. The logs are copied
        to the lab's state directory at teardown."""
        return self.frr_run_root() / f"frr-{side}"

    def _remove_frr_dirs(self, keep_logs):
        root = self.frr_run_root()
        if keep_logs and root.exists() and self.dir.exists():
            for log in root.glob("frr-*/*.log"):
                shutil.copy(log, self.dir / f"{log.parent.name}-{log.name}")
        shutil.rmtree(root, ignore_errors=True)

    def _frr_configs(self, side):
        up4, up6 = UP_ADDR4.split("/")[0], UP_ADDR6.split("/")[0]
        if side == "edge":
            me, peer_as, router_id, peers = EDGE_AS, UP_AS, GW_UP4, (up4, up6)
            zebra_extra = [f"fpm address 127.0.0.1 port {FRR_FPM_PORT}"]
            nets = {"ipv4": [], "ipv6": []}
        else:
            me, peer_as, router_id, peers = UP_AS, EDGE_AS, up4, (GW_UP4, GW_UP6)
            zebra_extra = []
            nets = {"ipv4": [UP_NET4], "ipv6": [UP_NET6]}
        bgp = [f"router bgp {me}", f" bgp router-id {router_id}",
               " no bgp ebgp-requires-policy", " no bgp default ipv4-unicast",
               " no bgp network import-check", " timers bgp 3 9"]
        for p in peers:
            bgp += [f" neighbor {p} remote-as {peer_as}",
                    f" neighbor {p} timers connect 2",
                    f" neighbor {p} advertisement-interval 0"]
        for fam, peer in (("ipv4", peers[0]), ("ipv6", peers[1])):
            bgp += [f" address-family {fam} unicast", f"  neighbor {peer} activate"]
            bgp += [f"  network {n}" for n in nets[fam]]
            bgp += [" exit-address-family"]
        return {
            "zebra.conf": "\n".join([f"hostname {self.prefix}-{side}", *zebra_extra, ""]),
            "staticd.conf": f"hostname {self.prefix}-{side}\n",
            "bgpd.conf": "\n".join([f"hostname {self.prefix}-{side}", *bgp, ""]),
        }

    def frr_command(self, side, daemon):
        d = self.frr_dir(side)
        cmd = [str(FRR_DIR / daemon)]
        if daemon == "zebra" and side == "edge":
            cmd += ["-M", "dplane_fpm_nl"]
        cmd += ["-f", str(d / f"{daemon}.conf"), "-i", str(d / f"{daemon}.pid"),
                "-z", str(d / "zserv.api"), "--vty_socket", str(d),
                "--log", f"file:{d / (daemon + '.log')}", "-u", "frr", "-g", "frr"]
        return cmd

    def _start_frr(self):
        if not (FRR_DIR / "zebra").exists():
            raise LabError(f"no FRR in {FRR_DIR}: install frr (scripts/setup)")
        # The upstream announces what it holds on its loopback; it answers
        # ARP only on the interface an address is on, so a withdrawn prefix
        # really is unreachable from the appliance.
        self.ip("up", "addr", "add", UP_LO4, "dev", "lo")
        self.ip("up", "addr", "add", UP_LO6, "dev", "lo")
        self._sysctl("up", "net.ipv4.conf.all.arp_ignore=1")
        for side in ("edge", "up"):
            d = self.frr_dir(side)
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            for p in (FRR_RUN_ROOT, self.frr_run_root()):
                p.chmod(0o755)
            for name, text in self._frr_configs(side).items():
                (d / name).write_text(text)
            shutil.chown(d, "frr", "frr")
            for f in d.iterdir():
                shutil.chown(f, "frr", "frr")
            for daemon in FRR_DAEMONS:
                self.start_frr_daemon(side, daemon)

    def start_frr_daemon(self, side, daemon, timeout=10.0):
        """Start one FRR daemon of side "edge" or "up" and wait for its vty
        socket."""
        d = self.frr_dir(side)
        vty = d / f"{daemon}.vty"
        if vty.exists():
            vty.unlink()
        out = open(d / f"{daemon}.out", "ab")
        try:
            proc = self.ns_popen(side, self.frr_command(side, daemon),
                                 stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        finally:
            out.close()
        self.frr_procs[(side, daemon)] = proc
        self._pids.append({"pid": proc.pid, "what": f"{daemon} ({side})",
                           "starttime": _proc_starttime(proc.pid)})
        self._save_state()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(f"{daemon} in {self.ns[side]} exited with status "
                               f"{proc.returncode}; see {d}/{daemon}.log and .out")
            if vty.exists():
                return proc
            time.sleep(0.05)
        raise LabError(f"{daemon} in {self.ns[side]}: no vty socket {vty} "
                       f"after {timeout:g} s")

    def stop_frr_daemon(self, side, daemon, sig=signal.SIGTERM):
        """Stop one FRR daemon (SIGKILL when sig says so, as a crash would)."""
        proc = self.frr_procs.pop((side, daemon), None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def frr_hints(self):
        """Lines for scripts/lab's "Try" text when FRR runs."""
        if not self.frr:
            return ""
        return "".join(
            f"\n  ip netns exec {self.ns[side]} vtysh --vty_socket {self.frr_dir(side)}"
            f"  # FRR of {what}" for side, what in (("edge", "the appliance"),
                                                    ("up", "the upstream router")))

    def vtysh(self, side, *commands, check=True, timeout=30):
        """Run vtysh for side "edge" or "up" with -c for each command."""
        args = ["vtysh", "--vty_socket", str(self.frr_dir(side))]
        for c in commands:
            args += ["-c", c]
        return self.ns_run(side, args, check=check, timeout=timeout)

    # ------------------------------------------------------------- dataplane
    def config_text(self):
        lines = [f"# cuco-dataplane config of lab {self.prefix} (written by cucolab)",
                 f"workers {self.workers}",
                 f"idle-sleep {self.idle_sleep}",
                 f"fpm 127.0.0.1 {FRR_FPM_PORT}",
                 f"fpm-stale-time {self.fpm_stale_time}", *self.config_extra, ""]
        for port, dev, role, addrs, _peer in self.ports_cfg:
            lines.append(f"port {port} {{")
            lines.append(f"    device {dev}")
            lines.append(f"    role {role}")
            lines += [f"    address {a}" for a in addrs]
            if self.vlans and port == "cust0":
                for _name, outer, inner, gws, _a, _t, edge_name in VLANS:
                    vid = f"{outer}.{inner}" if inner else f"{outer}"
                    tap = f" tap {edge_name}" if edge_name else ""
                    lines.append(f"    vlan {vid}{tap} "
                                 + " ".join(f"address {g}" for g in gws))
            lines += [f"    {extra}" for extra in self.port_extra.get(port, ())]
            lines += ["}", ""]
        return "\n".join(lines)

    def eal_args(self):
        # lcore 0 is the control thread, 1..workers the workers
        ncpu = os.cpu_count() or 1
        if self.workers == 1 and ncpu >= 2:
            cores = ["-l", "0,1"]
        elif self.workers + 1 <= ncpu:
            cores = ["-l", f"0-{self.workers}"]
        else:
            # more lcores than CPUs: share them (fine for a lab, not for speed)
            cores = ["--lcores", ",".join(f"{i}@{i % ncpu}"
                                          for i in range(self.workers + 1))]
        args = [*cores, "--no-huge", "-m", str(self.memory_mb), "--no-pci",
                "--file-prefix", self.file_prefix]
        for port, dev, _role, _addrs, _peer in self.ports_cfg:
            # a TX queue per worker
            qp = f",qpairs={self.workers}" if self.workers > 1 else ""
            args += ["--vdev", f"{dev},iface={port}{qp}"]
        return args

    def command(self):
        """The dataplane's command line (run inside P-edge)."""
        return [str(self.binary), *self.eal_args(), "--",
                "--config", str(self.config_path)]

    def _start_dataplane(self, append_log=False):
        if not os.access(self.binary, os.X_OK):
            raise LabError(f"no dataplane binary at {self.binary}: "
                           "build it first (scripts/setup)")
        if self.log_path.exists() and not append_log:
            self.log_path.replace(self.log_path.with_name("dataplane.log.1"))
        try:
            self._log_start = self.log_path.stat().st_size if append_log else 0
        except OSError:
            self._log_start = 0
        cmd = ["ip", "netns", "exec", self.ns_edge, *self.command()]
        with open(self.log_path, "ab" if append_log else "wb") as log:
            # own session: a Ctrl-C on the lab's terminal reaches the lab,
            # which stops the dataplane itself (and sees how it exits)
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        # `ip netns exec` execs the command: this pid is the dataplane's
        self._pids = [{"pid": self.proc.pid, "what": "cuco-dataplane",
                       "starttime": _proc_starttime(self.proc.pid)}]
        self._save_state()

    def _wait_ready(self):
        deadline = time.monotonic() + self.ready_timeout
        ready = False
        last_err = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.exit_status = self.proc.returncode
                raise LabError(f"cuco-dataplane exited with status "
                               f"{self.proc.returncode} before it was ready; "
                               f"last lines of {self.log_path}:\n"
                               + self.log_tail())
            if not ready:
                ready = READY_LINE in self.log_text(since=self._log_start)
            if ready:
                try:
                    telemetry_query(self.file_prefix, "/cuco/ports", timeout=2)
                    return
                except TelemetryError as e:
                    last_err = e
            time.sleep(0.1)
        what = (f"telemetry /cuco/ports did not answer ({last_err})" if ready
                else f"no '{READY_LINE}' line")
        raise LabError(f"cuco-dataplane not ready after {self.ready_timeout:g} s: "
                       f"{what}; last lines of {self.log_path}:\n" + self.log_tail())

    def restart_dataplane(self, timeout=10.0):
        """Stop the dataplane (SIGTERM) and start it again with the same
        command line; waits until it is ready. Its output goes on in the same
        log (so nothing a sanitizer said before the restart is lost). Returns
        the exit status of the stopped one (0: a clean stop)."""
        if self.kernel:
            raise LabError("a --kernel lab has no dataplane to restart")
        status = self.terminate_dataplane(timeout=timeout)
        with open(self.log_path, "ab") as log:
            log.write(f"--- cucolab: dataplane stopped with status {status}; "
                      "restarting ---\n".encode())
        self.exit_status = None
        self.killed = False
        self._start_dataplane(append_log=True)
        self._wait_ready()
        return status

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self, since=0):
        """The log from byte offset since; the whole log by default, with
        the output of dataplanes stopped by restart_dataplane()."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n=30):
        lines = self.log_text().splitlines()
        return "\n".join("    " + line for line in lines[-n:]) or "    (empty)"

    # --------------------------------------------------------------- helpers
    def _ns_name(self, ns):
        return self.ns.get(ns, ns)

    def ns_cmd(self, ns, cmd):
        if isinstance(cmd, str):
            cmd = shlex.split(cmd)
        return ["ip", "netns", "exec", self._ns_name(ns), *cmd]

    def ns_run(self, ns, cmd, check=False, timeout=60, input=None):
        """Run cmd (list or string) in namespace ns ("cust", "up", "edge" or a
        full name); returns the CompletedProcess (text stdout/stderr)."""
        return run(self.ns_cmd(ns, cmd), check=check, timeout=timeout,
                   input=input)

    def ns_popen(self, ns, cmd, **kw):
        """Start cmd in namespace ns in the background (caller stops it; the
        lab's teardown kills whatever is left in its namespaces anyway)."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(self.ns_cmd(ns, cmd), **kw)

    def ip(self, ns, *args):
        return run(["ip", "-n", self._ns_name(ns), *args])

    def telemetry(self, cmd, timeout=5.0):
        """Parsed answer of a telemetry command, e.g. lab.telemetry("/cuco/ports")."""
        return telemetry_query(self.file_prefix, cmd, timeout=timeout)

    def ports(self):
        return self.telemetry("/cuco/ports")

    def stats(self, port=None):
        return self.telemetry("/cuco/stats" + (f",{port}" if port else ""))

    def _dpctl_beside_binary(self):
        # <build dir>/dataplane/cuco-dataplane -> <build dir>/controlplane/...
        beside = self.binary.resolve().parent.parent / DPCTL_IN_BUILD
        return beside if beside.exists() else DEFAULT_DPCTL

    def dpctl(self, *args, json_out=False, timeout=30, input=None,
              dpctl_timeout=None):
        """Run cuco-dpctl in P-edge (where the dataplane's agent listens on
        its loopback); returns the CompletedProcess. json_out=True adds
        --json (the agent's replies as they are); dpctl_timeout is its own
        --timeout in seconds. Exit status 3 means the dataplane refused."""
        cmd = [str(self.dpctl_path)]
        if json_out:
            cmd.append("--json")
        if dpctl_timeout is not None:
            cmd += ["--timeout", str(int(dpctl_timeout))]
        return self.ns_run("edge", [*cmd, *map(str, args)], timeout=timeout,
                           input=input)

    def mac(self, port):
        """MAC of an edge port as the kernel of P-edge sees its veth end."""
        out = run(["ip", "-n", self.ns_edge, "-j", "link", "show", port]).stdout
        return json.loads(out)[0]["address"]

    def send_frames(self, ns, iface, frames, timeout=60):
        """Send raw Ethernet frames (bytes) on iface in namespace ns with an
        AF_PACKET socket. Returns (sent, refused): frames the kernel refused
        (e.g. shorter than an Ethernet header) are counted, not sent."""
        blob = b"".join(len(f).to_bytes(4, "big") + bytes(f) for f in frames)
        p = subprocess.run(
            self.ns_cmd(ns, [sys.executable, "-c", _SENDER, iface]),
            input=blob, capture_output=True, timeout=timeout)
        if p.returncode != 0:
            raise LabError(f"sending frames in {ns} failed: "
                           f"{p.stderr.decode(errors='replace')}")
        res = json.loads(p.stdout)
        return res["sent"], res["refused"]

    def describe(self):
        """Human-readable summary of what runs (for scripts/lab)."""
        out = []
        out.append(f"lab {self.prefix}:")
        out.append(f"  namespaces: {self.ns_cust} (customer), {self.ns_edge} "
                   f"(the appliance), {self.ns_up} (uplink)")
        out.append(f"  {self.ns_cust:<12} eth0 "
                   f"{VLAN_CUST_ADDR4 if self.vlans else CUST_ADDR4} {CUST_ADDR6}, "
                   f"default via {GW_CUST4} / {GW_CUST6}")
        if self.vlans:
            for name, outer, inner, gws, addrs, table, _e in VLANS:
                tags = f"802.1ad {outer} + 802.1Q {inner}" if inner else f"802.1Q {outer}"
                out.append(f"  {'':<12} {name} ({tags}) {addrs[0]} {addrs[1]}, "
                           f"table {table}: default via {gws[0].split('/')[0]}")
        out.append(f"  {self.ns_up:<12} eth0 {UP_ADDR4} {UP_ADDR6}, "
                   f"198.51.100.0/24 via {GW_UP4}, 2001:db8:100::/48 via {GW_UP6}")
        if self.kernel:
            out.append(f"  {self.ns_edge:<12} Linux routes (no dataplane): "
                       "cust0 198.51.100.1/24 2001:db8:100::1/64, "
                       "up0 203.0.113.1/24 2001:db8:200::1/64")
            return "\n".join(out)
        out.append(f"  {self.ns_edge:<12} cuco-dataplane pid {self.proc.pid} "
                   f"owns cust0 (<-> {self.ns_cust} eth0) and up0 "
                   f"(<-> {self.ns_up} eth0)"
                   + (f" and up1 (<-> {self.ns_up} eth1)"
                      if UP1_PORT in self.ports_cfg else ""))
        links = run(["ip", "-n", self.ns_edge, "-br", "addr"], check=False).stdout
        for line in links.splitlines():
            if not line.startswith("lo "):
                out.append(f"               {line.strip()}")
        out.append(f"  command:  ip netns exec {self.ns_edge} "
                   + shlex.join(self.command()))
        out.append(f"  log:      {self.log_path}")
        out.append(f"  config:   {self.config_path}")
        for line in self.config_text().rstrip().splitlines():
            out.append(f"            {line}")
        return "\n".join(out)


# Runs in the sender's namespace: read length-prefixed frames from stdin and
# send each on the interface named by argv[1].
_SENDER = r"""
import json, socket, sys, time
data = sys.stdin.buffer.read()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
sent = refused = 0
i = 0
while i < len(data):
    n = int.from_bytes(data[i:i + 4], "big")
    frame = data[i + 4:i + 4 + n]
    i += 4 + n
    try:
        s.send(frame)
        sent += 1
    except OSError:
        refused += 1
    if (sent + refused) % 32 == 0:
        time.sleep(0.001)   # pace: let the receiver's ring drain
print(json.dumps({"sent": sent, "refused": refused}))
"""


# ------------------------------------------------------------------- the CLI
class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop(signal.Signals(signum).name)


def _start_controld(lab, port):
    """cuco-controld and its embedded PostgreSQL cluster, in the lab's
    directory; the admin's first credentials go to a root-only file."""
    import cucoctld
    cucoctld.stop_leftover(lab.dir / "controld")
    ctld = cucoctld.Controld(lab.dir / "controld", port=port)
    import cucoseed
    try:
        ctld.start()
        token = ctld.admin_token()  # changes the one-time password
        seeded = cucoseed.seed(ctld.url, token)
        if not lab.kernel:
            _register_dataplane(ctld, token, lab.prefix)
    except (cucoctld.ControldError, cucoseed.SeedError, OSError) as e:
        _stderr(f"lab {lab.prefix}: cuco-controld: {e}")
        ctld.stop()
        return None
    creds = lab.dir / "controld" / "admin-credentials"
    fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"url {ctld.url}\nusername admin\npassword {ctld.admin_password}\n")
    os.chmod(creds, 0o600)
    offerings = ", ".join(seeded["offerings"] or [])
    customers = ", ".join(seeded["customers"] or []) or "none"
    print(f"""
cuco-controld (REST API): {ctld.url}  (OpenAPI: {ctld.url}/api/v1/openapi.json)
  seeded: offerings {offerings}; customers {customers}
  log {ctld.log_path}; PostgreSQL cluster {ctld.pgdir} (psql '{ctld.db_url}')
  the lab admin's credentials (root only): {creds}
  curl -s {ctld.url}/api/v1/auth/login -H 'Content-Type: application/json' \\
       -d '{{"username":"admin","password":"'$(sed -n 's/^password //p' {creds})'"}}'""",
          flush=True)
    return ctld


def _agent_endpoint(prefix):
    """The dataplane's agent on an ipc:// path, which cuco-controld in the
    host's namespace reaches (loopback tcp would stay inside P-edge)."""
    return f"ipc://{FRR_RUN_ROOT}/{prefix}-agent/agent.sock"


def _usage_endpoint(prefix):
    """The dataplane's usage PUB, beside its agent: billing's collector in
    cuco-controld subscribes to it."""
    return f"ipc://{FRR_RUN_ROOT}/{prefix}-agent/usage.sock"


def _register_dataplane(ctld, token, prefix):
    """The lab's dataplane and address pools, registered with the network
    domain through the API (with its usage endpoint, for billing)."""
    for path, body in (("/api/v1/dataplanes", {"name": "edge",
                                               "endpoint": _agent_endpoint(prefix),
                                               "usage_endpoint": _usage_endpoint(prefix)}),
                       ("/api/v1/pools", {"name": "lab4", "prefix": "198.51.100.0/24",
                                          "exclude": ["198.51.100.0/31",
                                                      "198.51.100.255/32"]}),
                       ("/api/v1/pools", {"name": "lab6", "prefix": "2001:db8:100::/48",
                                          "length": 64})):
        r = ctld.post(path, token=token, json=body)
        if r.status_code not in (201, 409):
            raise cucoctld_error(f"POST {path}: {r.status_code} {r.text}")


def cucoctld_error(msg):
    import cucoctld
    return cucoctld.ControldError(msg)


def _cmd_run(args):
    agent = args.controld and not args.kernel
    if agent:
        (FRR_RUN_ROOT / f"{args.prefix}-agent").mkdir(parents=True, exist_ok=True)
    lab = Lab(args.prefix, workers=args.workers, kernel=args.kernel,
              idle_sleep=args.idle_sleep, frr=args.frr, uplinks=args.uplinks,
              vlans=args.vlans, say=_stderr,
              config_extra=(f"agent {_agent_endpoint(args.prefix)}",
                            f"usage {_usage_endpoint(args.prefix)}") if agent else ())
    ctld = None
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    status = 0
    try:
        try:
            lab.start()
        except LabError as e:
            _stderr(f"lab {args.prefix}: {e}")
            return 1
        print(lab.describe())
        if args.controld:
            ctld = _start_controld(lab, args.api_port)
            if ctld is None:
                return 1
        print(f"""
Try (as root, in another terminal):
  ip netns exec {lab.ns_cust} ping -c3 203.0.113.2
  ip netns exec {lab.ns_cust} ping -c3 2001:db8:200::2
  ip netns exec {lab.ns_up} iperf3 -s -D; ip netns exec {lab.ns_cust} iperf3 -c 203.0.113.2 -t 5
  echo /cuco/stats | dpdk-telemetry.py -f {lab.file_prefix}
  ip netns exec {lab.ns_edge} {lab.dpctl_path}{f" -e {_agent_endpoint(lab.prefix)}" if agent else ""} hello{lab.frr_hints()}

Ctrl-C stops the lab and removes what it created (logs stay in {lab.dir}).""",
              flush=True)
        while True:
            if ctld is not None and not ctld.alive():
                _stderr(f"lab {args.prefix}: cuco-controld exited; last lines of "
                        f"{ctld.log_path}:\n{ctld.log_tail()}")
                status = 1
                break
            if not lab.kernel and not lab.alive():
                status = lab.proc.returncode
                _stderr(f"lab {args.prefix}: cuco-dataplane exited with status "
                        f"{status}; last lines of {lab.log_path}:\n{lab.log_tail()}")
                status = 1
                break
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop) as e:
        why = "Ctrl-C" if isinstance(e, KeyboardInterrupt) else str(e)
        print(f"\nlab {args.prefix}: {why}: stopping", flush=True)
    finally:
        # a second Ctrl-C must not leave half a lab behind
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        if ctld is not None:
            ctld.stop()
        rc = lab.stop()
        shutil.rmtree(FRR_RUN_ROOT / f"{args.prefix}-agent", ignore_errors=True)
        if rc is not None and status == 0:
            print(f"lab {args.prefix}: cuco-dataplane exited with status {rc}"
                  + (" (after SIGKILL)" if lab.killed else ""), flush=True)
        print(f"lab {args.prefix}: namespaces removed; logs in {lab.dir}",
              flush=True)
    return status


def main(argv=None):
    ap = argparse.ArgumentParser(prog="cucolab", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="start a lab and wait until Ctrl-C")
    r.add_argument("--prefix", default="cuco")
    r.add_argument("--workers", type=int, default=1)
    r.add_argument("--idle-sleep", type=int, default=20)
    r.add_argument("--kernel", action="store_true",
                   help="let the Linux kernel route in P-edge (no dataplane)")
    r.add_argument("--frr", action="store_true",
                   help="run FRR (zebra with FPM, staticd, bgpd) in P-edge and "
                        "an upstream BGP router in P-up")
    r.add_argument("--uplinks", type=int, choices=(1, 2), default=1,
                   help="2: a second uplink up1 <-> P-up eth1 (for ECMP)")
    r.add_argument("--vlans", action="store_true",
                   help="VLAN subscribers on the customer side (802.1Q 100 and "
                        "QinQ 200.300) and VLAN sub-interfaces on the appliance")
    r.add_argument("--no-controld", dest="controld", action="store_false",
                   help="do not start cuco-controld and its PostgreSQL cluster")
    r.add_argument("--api-port", type=int, default=8080,
                   help="the REST gateway's port on 127.0.0.1 (default 8080)")
    c = sub.add_parser("cleanup", help="remove what an earlier lab left")
    c.add_argument("--prefix", default="cuco")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        _stderr("cucolab: needs root (network namespaces)")
        return 1
    if args.cmd == "run":
        return _cmd_run(args)
    Lab(args.prefix, say=_stderr).cleanup_leftovers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
