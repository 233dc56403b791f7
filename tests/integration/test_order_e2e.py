"""The whole story, with no stub: an operator registers a customer and
orders Fiber 20 through TMF622; the saga reserves in the catalog, sets up the
billing plan, provisions through the network domain into the real fast path
of the lab, activates the plan and notifies the customer; within a second
of the order the customer's traffic is policed at the ordered rate (20
Mbit/s downstream, 5 up). Then the order for a faster speed (modify) and
the cease (delete), which gives back the address and the service inventory.
Last, an order while the dataplane is stopped: past the saga's provisioning
deadline it is compensated (reservation released, billing plan cancelled,
the customer told) and the restarted dataplane never sees the service.

cuco-controld runs in the host's namespace, the dataplane in the lab's
cuco-edge namespace; its agent listens on an ipc:// path.
"""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

import cucoctld
import cucoseed
from test_subscribers import A4, measure, ping, UP4

AGENT_DIR = Path(f"/run/cuco-lab/oe{os.getpid()}")
AGENT = f"ipc://{AGENT_DIR}/agent.sock"
LAB_OPTIONS = {"config_extra": [f"agent {AGENT}"]}
# the saga's deadline for a service to reach the dataplanes
PROVISION_TIMEOUT = 4
CTLD_OPTIONS = {"config_extra": f"provision-timeout {PROVISION_TIMEOUT}\n"}
TMF = "/tmf-api/productOrderingManagement/v4"
CUST = "/tmf-api/customerManagement/v4/customer"
IND = "/tmf-api/party/v4/individual"
SERVICES = "/tmf-api/serviceInventory/v4/service"
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
        yield {"token": token, "offerings": offerings, "customer": register(ctld, token)}
    finally:
        shutil.rmtree(AGENT_DIR, ignore_errors=True)


def register(ctld, token):
    """A new customer, through the API as an operator's CRM would."""
    r = ctld.post(IND, token=token, json={"givenName": "Edsger", "familyName": "Dijkstra",
                                          "birthDate": "1930-05-11"})
    assert r.status_code == 201, r.text
    r = ctld.post(CUST, token=token, json={
        "engagedParty": {"id": r.json()["id"], "@referredType": "Individual"},
        "status": "active",
        "contactMedium": [{"mediumType": "email",
                           "characteristic": {"contactType": "primary",
                                              "emailAddress": "edsger@example.org"}}]})
    assert r.status_code == 201, r.text
    return r.json()


def sql(ctld, q):
    return cucoctld.psql(ctld.db_url, q)


def metric(ctld, token, line_start):
    """The value of the /metrics line starting with line_start (0 if none)."""
    text = ctld.get("/metrics", token=token).text
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    return 0.0


def dp_subscribers(lab):
    p = lab.dpctl("-e", AGENT, "list", json_out=True, dpctl_timeout=5)
    return json.loads(p.stdout)["subscribers"] if p.returncode == 0 else []


def order(ctld, env, offering, action="add", service_id=None):
    product = {"productCharacteristic": [{"name": "prefixPool", "value": "lab4"}]}
    inventory = [{"sku": "ONT-NOKIA-G010G", "quantity": 1}]
    if service_id:
        product, inventory = {"id": service_id}, []
    body = {"description": "fiber at home",
            "relatedParty": [{"id": env["customer"]["id"], "role": "customer",
                              "@referredType": "Customer"}],
            "productOrderItem": [{"id": "1", "action": action,
                                  "productOffering": {"id": env["offerings"][offering]["id"]},
                                  "product": product, "x-inventory": inventory}]}
    r = ctld.post(f"{TMF}/productOrder", token=env["token"], json=body)
    assert r.status_code == 201, r.text
    return r.json()


def final(ctld, env, oid, timeout=30, state="completed"):
    o = wait_for(f"order {oid} final", lambda: (lambda o: o if o["state"] in FINAL else None)(
        ctld.get(f"{TMF}/productOrder/{oid}", token=env["token"]).json()), timeout)
    saga = ctld.get(f"/api/v1/orders/{oid}/saga", token=env["token"]).json()
    assert o["state"] == state, f"order {oid}: {o['state']}; saga {saga}"
    return o, saga


def test_order_becomes_enforcement_within_a_second(lab, ctld, env):
    token = env["token"]
    completed = metric(ctld, token, 'cuco_orders{state="completed"}')
    observed = metric(ctld, token, "cuco_order_enforcement_seconds_count")
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
    assert sql(ctld, "SELECT string_agg(kind, ',') FROM customer.notifications"
                     f" WHERE order_id = '{o['id']}'") == "order.completed"
    # /metrics: one more completed order, its latency observed, under a second
    assert metric(ctld, token, 'cuco_orders{state="completed"}') == completed + 1
    assert metric(ctld, token, "cuco_order_enforcement_seconds_count") == observed + 1
    assert metric(ctld, token, 'cuco_order_enforcement_seconds_bucket{le="1"}') >= observed + 1
    # Fiber 20 is 20 Mbit/s down and 5 Mbit/s up, both policed
    measure(lab, "Edsger (Fiber 20)", A4, 20_000_000, 8, reverse=True)
    measure(lab, "Edsger (Fiber 20)", A4, 5_000_000, 8)
    env["service"] = sub["id"]


def test_modify_to_another_speed_then_cease(lab, ctld, env):
    sid = env.get("service")
    if sid is None:
        pytest.skip("the first order did not complete")
    token = env["token"]
    o = order(ctld, env, "Fiber 50", action="modify", service_id=sid)
    final(ctld, env, o["id"])
    sub = wait_for("the new profile in the fast path",
                   lambda: [s for s in dp_subscribers(lab)
                            if s["id"] == sid and s["profile"] != "fiber20"], 5.0)[0]
    assert sub["profile"] == "fiber50", sub
    measure(lab, "Edsger (Fiber 50)", A4, 50_000_000, 8, reverse=True)
    assert sql(ctld, "SELECT host(prefix) FROM network.assignments"
                     f" WHERE service_id = '{sid}'") == A4
    o = order(ctld, env, "Fiber 50", action="delete", service_id=sid)
    final(ctld, env, o["id"])
    wait_for("the service gone from the fast path",
             lambda: not [s for s in dp_subscribers(lab) if s["id"] == sid], 5.0)
    # the address is back in the pool, the service terminated in the inventory
    assert sql(ctld, "SELECT count(*) FROM network.assignments"
                     f" WHERE service_id = '{sid}'") == "0"
    svc = ctld.get(f"{SERVICES}/{sid}", token=token).json()
    assert svc["state"] == "terminated", svc
    assert sql(ctld, f"SELECT state FROM \"order\".services WHERE service_id = '{sid}'") \
        == "terminated"


def test_provisioning_past_the_deadline_is_compensated(lab, ctld, env):
    """The dataplane stopped: the order waits in inProgress (the network
    domain's circuit opens), fails at the provisioning deadline and is
    compensated; the restarted dataplane gets nothing of it."""
    token = env["token"]
    stock = sql(ctld, "SELECT quantity - reserved FROM catalog.inventory_items"
                      " WHERE sku = 'ONT-NOKIA-G010G'")
    lab.terminate_dataplane()
    try:
        t0 = time.monotonic()
        o = order(ctld, env, "Fiber 20")
        wait_for("the order in progress", lambda: ctld.get(
            f"{TMF}/productOrder/{o['id']}", token=token).json()["state"] == "inProgress", 5)
        o, saga = final(ctld, env, o["id"], timeout=PROVISION_TIMEOUT + 30, state="failed")
        assert time.monotonic() - t0 >= PROVISION_TIMEOUT
    finally:
        lab.restart_dataplane()
    steps = {s["command"]: s for s in saga["steps"]}
    prov = steps["network.service.provision"]
    assert prov["state"] == "failed" and "timeout" in (prov["last_error"] or ""), prov
    assert saga["state"] == "compensated" and saga["outcome"] == "failed", saga
    # reservation released, plan cancelled and never active, customer told
    oid = o["id"]
    assert sql(ctld, "SELECT string_agg(state, ',') FROM catalog.reservations"
                     f" WHERE reservation_id LIKE '{oid}.%'") == "released"
    assert sql(ctld, "SELECT quantity - reserved FROM catalog.inventory_items"
                     " WHERE sku = 'ONT-NOKIA-G010G'") == stock
    assert sql(ctld, f"SELECT state FROM billing.plans WHERE order_id = '{oid}'") == "cancelled"
    assert sql(ctld, "SELECT count(*) FROM billing.outbox WHERE type = 'billing.plan.activated'"
                     f" AND payload->>'order_id' = '{oid}'") == "0"
    assert sql(ctld, "SELECT string_agg(kind, ',') FROM customer.notifications"
                     f" WHERE order_id = '{oid}'") == "order.failed"
    # nothing lent any more, and the dataplane, resynced, never enforces it
    assert sql(ctld, "SELECT count(*) FROM network.assignments a JOIN network.services s"
                     f" ON s.id = a.service_id WHERE s.order_id = '{oid}'") == "0"
    wait_for("the dataplane synced again", lambda: ctld.get(
        "/api/v1/dataplanes", token=token).json()[0]["state"] == "synced", 15)
    assert not [s for s in dp_subscribers(lab) if s["match"].get("prefixes") == [f"{A4}/32"]]
    assert metric(ctld, token, 'cuco_orders{state="failed"}') >= 1
