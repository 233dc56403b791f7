"""The network domain against a real dataplane: services provisioned through
TMF640 reach the fast path within a second and are policed at their profile's
rate; a restarted dataplane is resynced; a stopped one opens its circuit and
services wait, pending, until it answers; no prefix is ever lent twice; a
suspended customer's services are suspended.

cuco-controld runs in the host's namespace, the dataplane in the lab's
cuco-edge namespace: its agent listens on an ipc:// path, which crosses
network namespaces.
"""

import concurrent.futures
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from test_customer import patch as customer_patch, register as register_customer
from test_subscribers import A4, measure, ping, UP4

AGENT_DIR = Path(f"/run/cuco-lab/nw{os.getpid()}")
AGENT = f"ipc://{AGENT_DIR}/agent.sock"
LAB_OPTIONS = {"config_extra": [f"agent {AGENT}"]}
TMF638 = "/tmf-api/serviceInventory/v4/service"
TMF640 = "/tmf-api/ServiceActivationAndConfiguration/v4"
RATE = 20_000_000


def meter(rate):
    burst = max(rate // 40, 16000)
    return {"mode": "rfc2698", "cir": rate, "pir": rate, "cbs": burst, "pbs": burst,
            "green": "forward", "yellow": "forward", "red": "drop"}


def profile(name, rate):
    return {"name": name, "up": meter(rate), "down": meter(rate)}


def activation(customer, prof, pool="lab4", **chars):
    c = [{"name": "profile", "value": prof}]
    if pool:
        c.append({"name": "prefixPool", "value": pool})
    for k, v in chars.items():
        c.append({"name": k, "value": v})
    return {"name": f"internet {customer}", "relatedParty": [{"id": customer, "role": "customer"}],
            "serviceCharacteristic": c}


def dpctl(lab, *args):
    return lab.dpctl("-e", AGENT, *args, json_out=True, dpctl_timeout=5)


def dp_sub(lab, sid):
    """The subscriber as the dataplane lists it, or None."""
    p = dpctl(lab, "list")
    if p.returncode != 0:
        return None
    for s in json.loads(p.stdout)["subscribers"]:
        if s["id"] == sid:
            return s
    return None


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def admin(ctld):
    return ctld.admin_token()


@pytest.fixture(scope="module")
def setup(lab, ctld, admin):
    """The lab's dataplane registered with controld, a pool of the customer
    side's documentation prefix, and the customer's address answered."""
    try:
        for _try in range(5):
            if ping(lab, "cust", UP4, count=3)[0] == 3:
                break
        r = ctld.post("/api/v1/dataplanes", token=admin,
                      json={"name": "edge", "endpoint": AGENT})
        assert r.status_code == 201, r.text
        r = ctld.post("/api/v1/pools", token=admin,
                      json={"name": "lab4", "prefix": "198.51.100.0/24",
                            "exclude": ["198.51.100.0/31", "198.51.100.255/32"]})
        assert r.status_code == 201, r.text
        r = ctld.post("/api/v1/pools", token=admin,
                      json={"name": "lab6", "prefix": "2001:db8:100::/48", "length": 64})
        assert r.status_code == 201, r.text
        wait_for("dataplane synced", lambda: dataplane(ctld, admin)["state"] == "synced", 10)
        yield lab
    finally:
        shutil.rmtree(AGENT_DIR, ignore_errors=True)


# the agent's directory exists before the lab's dataplane binds there
AGENT_DIR.mkdir(parents=True, exist_ok=True)


def dataplane(ctld, admin):
    r = ctld.get("/api/v1/dataplanes", token=admin)
    assert r.status_code == 200, r.text
    return r.json()[0]


def activate(ctld, admin, body):
    r = ctld.post(f"{TMF640}/service", token=admin, json=body)
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == r.json()["href"]
    return r.json()


def service_id(monitor):
    return monitor["response"]["body"]["id"]


def test_activation_enforced_within_a_second_and_policed(setup, ctld, admin):
    lab = setup
    t0 = time.monotonic()
    mon = activate(ctld, admin, activation("cust-a", profile("net20", RATE)))
    sid = service_id(mon)
    sub = wait_for("subscriber in the dataplane", lambda: dp_sub(lab, sid), 1.0)
    elapsed = time.monotonic() - t0
    assert elapsed < 1.0, elapsed
    assert sub["profile"] == "net20"
    assert sub["match"]["prefixes"] == [f"{A4}/32"]
    assert mon["state"] == "Completed", mon
    svc = ctld.get(f"{TMF638}/{sid}", token=admin).json()
    assert svc["state"] == "active" and svc["@type"] == "Service"
    assert svc["relatedParty"][0]["id"] == "cust-a"
    r = ctld.get(mon["href"], token=admin)
    assert r.status_code == 200 and r.json()["state"] == "Completed"
    r = ctld.get(TMF638, token=admin, params={"relatedParty.id": "cust-a"})
    assert [s["id"] for s in r.json()] == [sid]
    # real traffic of that customer is policed at the profile's rate
    measure(lab, "cust-a", A4, RATE, 8)
    assert dataplane(ctld, admin)["generation"] >= 1


def test_restarted_dataplane_is_resynced(setup, ctld, admin):
    lab = setup

    def active():
        return ctld.get(TMF638, token=admin, params={"state": "active"}).json()
    # the services of the tests before (under load they may still be settling)
    wait_for("an active service", lambda: bool(active()), 15.0)
    before = active()
    lab.restart_dataplane()
    for s in before:
        wait_for(f"{s['id']} back after the restart", lambda: dp_sub(lab, s["id"]), 5.0)
    dp = dataplane(ctld, admin)
    assert dp["state"] == "synced" and dp["epoch"] >= 2, dp


def test_stopped_dataplane_opens_the_circuit_then_catches_up(setup, ctld, admin):
    lab = setup
    pid = lab.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for("circuit open", lambda: dataplane(ctld, admin)["circuit"] == "open", 15)
        assert dataplane(ctld, admin)["state"] == "unreachable"
        t0 = time.monotonic()
        mon = activate(ctld, admin, activation("cust-b", profile("net10", 10_000_000),
                                               pool="lab6"))
        assert time.monotonic() - t0 < 2.0, "a write waited for the stopped dataplane"
        assert mon["state"] == "InProgress"
        sid = service_id(mon)
        assert ctld.get(f"{TMF638}/{sid}", token=admin).json()["state"] == "reserved"
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_for("service active after SIGCONT",
             lambda: ctld.get(mon["href"], token=admin).json()["state"] == "Completed", 20)
    assert dp_sub(lab, sid)["match"]["prefixes"] == ["2001:db8:100::/64"]
    dp = dataplane(ctld, admin)
    assert dp["circuit"] == "closed" and dp["state"] == "synced", dp


def test_concurrent_activations_never_share_a_prefix(setup, ctld, admin):
    def one(i):
        return activate(ctld, admin, activation(f"cust-c{i}", profile("net5", 5_000_000)))
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        mons = list(ex.map(one, range(24)))
    prefixes = [m["response"]["body"]["serviceCharacteristic"] for m in mons]
    lent = [c["value"][0] for chars in prefixes for c in chars if c["name"] == "prefixes"]
    assert len(lent) == 24 and len(set(lent)) == 24, lent
    # each is in the dataplane, with its own prefix
    for m in mons:
        wait_for("subscriber", lambda: dp_sub(setup, service_id(m)), 5)
    # a pool whose prefixes are lent cannot be removed
    r = ctld.delete("/api/v1/pools/lab4", token=admin)
    assert r.status_code == 409, r.text


def test_suspended_customer_is_suspended_in_the_fast_path(setup, ctld, admin):
    lab = setup
    c = register_customer(ctld, admin)
    assert customer_patch(ctld, c["href"], admin, {"status": "active"}).status_code == 200
    mon = activate(ctld, admin, activation(c["id"], profile("net5", 5_000_000)))
    sid = service_id(mon)
    wait_for("subscriber", lambda: dp_sub(lab, sid), 2)
    assert customer_patch(ctld, c["href"], admin, {"status": "suspended"}).status_code == 200
    wait_for("suspended in the dataplane",
             lambda: (dp_sub(lab, sid) or {}).get("availability") == "suspended", 5)
    assert customer_patch(ctld, c["href"], admin, {"status": "active"}).status_code == 200
    wait_for("active again in the dataplane",
             lambda: (dp_sub(lab, sid) or {}).get("availability") == "active", 5)
