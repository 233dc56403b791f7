"""The whole story, with no stub: an operator orders Fiber 20 for a seeded
customer through TMF622; the saga reserves in the catalog, sets up the
billing plan, provisions through the network domain into the real fast path
of the lab, activates the plan and notifies the customer; within a second
of the order the customer's traffic is policed at the ordered rate. Then
the order for a slower speed (modify) and the cease (delete) follow.

cuco-controld runs in the host's namespace, the dataplane in the lab's
cuco-edge namespace; its agent listens on an ipc:// path.
"""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

import cucoseed
from test_subscribers import A4, measure, ping, UP4

AGENT_DIR = Path(f"/run/cuco-lab/oe{os.getpid()}")
AGENT = f"ipc://{AGENT_DIR}/agent.sock"
LAB_OPTIONS = {"config_extra": [f"agent {AGENT}"]}
TMF = "/tmf-api/productOrderingManagement/v4"
CUST = "/tmf-api/customerManagement/v4/customer"
OFFERINGS = "/tmf-api/productCatalogManagement/v4/productOffering"
FINAL = ("completed", "failed", "partial", "cancelled")

# the agent's directory exists before the lab's dataplane binds there
AGENT_DIR.mkdir(parents=True, exist_ok=True)


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def env(lab, ctld):
    try:
        token = ctld.admin_token()
        cucoseed.seed(ctld.url, token)
        for _try in range(5):
            if ping(lab, "cust", UP4, count=3)[0] == 3:
                break
        for path, body in (("/api/v1/dataplanes", {"name": "edge", "endpoint": AGENT}),
                           ("/api/v1/pools", {"name": "lab4", "prefix": "198.51.100.0/24",
                                              "exclude": ["198.51.100.0/31",
                                                          "198.51.100.255/32"]})):
            r = ctld.post(path, token=token, json=body)
            assert r.status_code == 201, r.text
        wait_for("dataplane synced", lambda: ctld.get("/api/v1/dataplanes", token=token)
                 .json()[0]["state"] == "synced", 10)
        offerings = {o["name"]: o for o in ctld.get(f"{OFFERINGS}?limit=100",
                                                      token=token).json()}
        ada = [c for c in ctld.get(f"{CUST}?name=Ada", token=token).json()][0]
        yield {"token": token, "offerings": offerings, "customer": ada}
    finally:
        shutil.rmtree(AGENT_DIR, ignore_errors=True)


def dp_subscribers(lab):
    p = lab.dpctl("-e", AGENT, "list", json_out=True, dpctl_timeout=5)
    return json.loads(p.stdout)["subscribers"] if p.returncode == 0 else []


def order(ctld, env, offering, action="add", service_id=None):
    product = {"productCharacteristic": [{"name": "prefixPool", "value": "lab4"}]}
    if service_id:
        product = {"id": service_id}
    body = {"description": "fiber at home",
            "relatedParty": [{"id": env["customer"]["id"], "role": "customer",
                              "@referredType": "Customer"}],
            "productOrderItem": [{"id": "1", "action": action,
                                  "productOffering": {"id": env["offerings"][offering]["id"]},
                                  "product": product}]}
    r = ctld.post(f"{TMF}/productOrder", token=env["token"], json=body)
    assert r.status_code == 201, r.text
    return r.json()


def final(ctld, env, oid, timeout=30):
    o = wait_for(f"order {oid} final", lambda: (lambda o: o if o["state"] in FINAL else None)(
        ctld.get(f"{TMF}/productOrder/{oid}", token=env["token"]).json()), timeout)
    saga = ctld.get(f"/api/v1/orders/{oid}/saga", token=env["token"]).json()
    assert o["state"] == "completed", f"order {oid}: {o['state']}; saga {saga}"
    return o, saga


def test_order_becomes_enforcement_within_a_second(lab, ctld, env):
    t0 = time.monotonic()
    o = order(ctld, env, "Fiber 20")
    sub = wait_for("the customer's subscriber in the fast path",
                   lambda: [s for s in dp_subscribers(lab)
                            if s["match"].get("prefixes") == [f"{A4}/32"]], 5.0)[0]
    elapsed = time.monotonic() - t0
    o, saga = final(ctld, env, o["id"])
    print(f"order to enforcement: {elapsed * 1000:.0f} ms; saga steps "
          + ", ".join(f"{s['command']} {s['state']}" for s in saga["steps"]))
    assert elapsed < 1.0, f"the fast path enforced the order after {elapsed:.2f} s"
    assert sub["availability"] == "active"
    # billed with service, notified, once
    assert [s["state"] for s in saga["steps"]] == ["done"] * len(saga["steps"])
    # Fiber 20 is 20 Mbit/s down, 5 Mbit/s up: the upstream is policed at 5
    measure(lab, "Ada (Fiber 20)", A4, 5_000_000, 8)
    env["service"] = sub["id"]


def test_modify_to_another_speed_then_cease(lab, ctld, env):
    sid = env.get("service")
    if sid is None:
        pytest.skip("the first order did not complete")
    o = order(ctld, env, "Fiber 50", action="modify", service_id=sid)
    final(ctld, env, o["id"])
    sub = wait_for("the new profile in the fast path",
                   lambda: [s for s in dp_subscribers(lab)
                            if s["id"] == sid and s["profile"] != "fiber20"], 5.0)[0]
    assert sub["profile"] == "fiber50", sub
    measure(lab, "Ada (Fiber 50)", A4, 10_000_000, 8)
    o = order(ctld, env, "Fiber 50", action="delete", service_id=sid)
    final(ctld, env, o["id"])
    wait_for("the service gone from the fast path",
             lambda: not [s for s in dp_subscribers(lab) if s["id"] == sid], 5.0)
