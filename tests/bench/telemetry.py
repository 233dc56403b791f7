#!/usr/bin/python3
"""Talk to a DPDK application's telemetry socket for scripts/bench.

    telemetry.py wait    PREFIX TIMEOUT   until the socket answers
    telemetry.py query   PREFIX CMD       print the answer to CMD as JSON
    telemetry.py mac     PREFIX PORT      MAC of a cuco-dataplane port
    telemetry.py flowing PREFIX TIMEOUT   until cuco-dataplane forwards
    telemetry.py rate    PREFIX SECONDS [--cuco] [--port N]
    telemetry.py portid  PREFIX DEVICE    ethdev port id of a DPDK device
    telemetry.py heap    PREFIX           DPDK heap of socket 0, as assignments

PREFIX is the EAL --file-prefix; the socket is
/var/run/dpdk/PREFIX/dpdk_telemetry.v2 (SOCK_SEQPACKET, rte_telemetry v2).

'rate' reads /ethdev/stats,N (port N, default 0; and with --cuco also
/cuco/stats) twice, SECONDS apart, and prints shell assignments: the packet
rate out of port N (opackets) and into it (ipackets) in packets per second,
and with --cuco the
dataplane's own counters over the same window (rx, forwarded, tx, punted,
dropped, from_kernel, and every drop and punt reason that moved). Each
sample's time is the midpoint of its request and answer.

Every wait is bounded. Exit status 0, or 1 with one line on stderr.
Only the Python standard library; any python3 works.
"""

import json
import socket
import sys
import time

RUNTIME = "/var/run/dpdk"


class TelemetryError(Exception):
    pass


def query(prefix, cmd, timeout=5.0, want=dict):
    """Answer of the application to cmd (the value under its command key)."""
    path = f"{RUNTIME}/{prefix}/dpdk_telemetry.v2"
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(timeout)
        try:
            s.connect(path)
            info = json.loads(s.recv(1 << 16).decode())
            s.send(cmd.encode())
            raw = s.recv(max(int(info.get("max_output_len", 16384)), 1 << 16) * 2)
        except (OSError, ValueError) as e:
            raise TelemetryError(f"{path}: {cmd}: {e}") from e
    try:
        reply = json.loads(raw.decode())
    except ValueError as e:
        raise TelemetryError(f"{cmd}: answer is not JSON: {raw[:200]!r}") from e
    key = cmd.split(",", 1)[0]
    if not isinstance(reply, dict) or not isinstance(reply.get(key), want):
        raise TelemetryError(f"{cmd}: unexpected answer {reply!r:.300}")
    return reply[key]


def timed(prefix, cmd):
    t0 = time.monotonic()
    v = query(prefix, cmd)
    t1 = time.monotonic()
    return (t0 + t1) / 2, v


def wait(prefix, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            query(prefix, "/", timeout=1.0, want=list)
            return 0
        except TelemetryError as e:
            last = e
        time.sleep(0.1)
    raise TelemetryError(f"no telemetry after {timeout:g} s ({last})")


def flowing(prefix, timeout):
    """Wait until forwarded rises and nothing more is punted as unresolved."""
    deadline = time.monotonic() + timeout
    prev = query(prefix, "/cuco/stats")
    while time.monotonic() < deadline:
        time.sleep(0.2)
        cur = query(prefix, "/cuco/stats")
        if (cur["forwarded"] > prev["forwarded"] and
                cur["punts"]["unresolved"] == prev["punts"]["unresolved"]):
            return 0
        prev = cur
    raise TelemetryError(f"the dataplane did not forward within {timeout:g} s "
                         f"(last /cuco/stats: {json.dumps(prev)})")


def rate(prefix, seconds, cuco, port=0):
    def sample():
        t, eth = timed(prefix, f"/ethdev/stats,{port}")
        c = query(prefix, "/cuco/stats") if cuco else None
        return t, eth, c

    t0, e0, c0 = sample()
    time.sleep(seconds)
    t1, e1, c1 = sample()
    dt = t1 - t0
    out = {
        "seconds": f"{dt:.3f}",
        "tx_pps": f"{(e1['opackets'] - e0['opackets']) / dt:.0f}",
        "rx_pps": f"{(e1['ipackets'] - e0['ipackets']) / dt:.0f}",
        "imissed": e1["imissed"] - e0["imissed"],
        "oerrors": e1["oerrors"] - e0["oerrors"],
        "rx_nombuf": e1["rx_nombuf"] - e0["rx_nombuf"],
    }
    if cuco:
        for k in ("rx_packets", "forwarded", "tx_packets", "punted", "dropped",
                  "from_kernel"):
            out[f"cuco_{k}"] = c1[k] - c0[k]
        moved = []
        for kind in ("drops", "punts"):
            for reason, n in sorted(c1[kind].items()):
                d = n - c0[kind].get(reason, 0)
                if d:
                    moved.append(f"{reason}:{d}")
        out["cuco_reasons"] = ",".join(moved) or "none"
    for k, v in out.items():
        print(f"{k}={v}")
    return 0


def main(argv):
    usage = __doc__.split("\n\n")[1]
    try:
        if len(argv) == 3 and argv[0] == "wait":
            return wait(argv[1], float(argv[2]))
        if len(argv) == 3 and argv[0] == "query":
            print(json.dumps(query(argv[1], argv[2])))
            return 0
        if len(argv) == 3 and argv[0] == "mac":
            ports = query(argv[1], "/cuco/ports")
            if argv[2] not in ports:
                raise TelemetryError(f"no port {argv[2]} in /cuco/ports")
            print(ports[argv[2]]["mac"].lower())
            return 0
        if len(argv) == 3 and argv[0] == "flowing":
            return flowing(argv[1], float(argv[2]))
        if len(argv) >= 3 and argv[0] == "rate":
            opts, port = argv[3:], 0
            if opts[-2:-1] == ["--port"]:
                port, opts = int(opts[-1]), opts[:-2]
            if opts in ([], ["--cuco"]):
                return rate(argv[1], float(argv[2]), opts == ["--cuco"], port)
        if len(argv) == 3 and argv[0] == "portid":
            for pid in query(argv[1], "/ethdev/list", want=list):
                if query(argv[1], f"/ethdev/info,{pid}")["name"] == argv[2]:
                    print(pid)
                    return 0
            raise TelemetryError(f"no ethdev named {argv[2]}")
        if len(argv) == 2 and argv[0] == "heap":
            h = query(argv[1], "/eal/heap_info,0")
            for k in ("Heap_size", "Alloc_size", "Free_size", "Alloc_count"):
                print(f"{k.lower()}={h[k]}")
            return 0
    except TelemetryError as e:
        print(f"telemetry: {e}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError) as e:
        print(f"telemetry: unexpected answer or argument: {e!r}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(f"usage:\n{usage}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
