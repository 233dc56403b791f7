"""The order domain against the real cuco-controld: TMF622 orders and their
saga (catalog reservation, billing plan, network provisioning, customer
notification), validation, cancellation, compensation of a failing step,
and kill -9 of controld before and after every step's command.

The network steps go to the real network domain, which provisions the
lab's real dataplane."""

import json
import itertools
import os
from pathlib import Path
import subprocess
import time
import uuid

import pytest

import cucoctld
import cucoseed

CTLD_OPTIONS = {"config_extra": "rate-limit token 1000 2000\nrate-limit address 1000 2000\n"}
TMF = "/tmf-api/productOrderingManagement/v4"
CAT = "/tmf-api/productCatalogManagement/v4"
CUST = "/tmf-api/customerManagement/v4/customer"
FINAL = ("completed", "failed", "partial", "cancelled")
STEPS = ("catalog.order.reserve", "billing.plan.create", "network.service.provision",
         "billing.plan.activate", "catalog.order.commit", "customer.notification.send")


@pytest.fixture(scope="module", autouse=True)
def _crash_hook_off():
    yield
    os.environ.pop("CUCO_TEST_CRASH_AT", None)


# The real network domain provisions into the lab's real dataplane, whose
# agent listens on an ipc:// path that controld (in the host's namespace)
# reaches.
AGENT_DIR = Path(f"/run/cuco-lab/or{os.getpid()}")
AGENT = f"ipc://{AGENT_DIR}/agent.sock"
LAB_OPTIONS = {"config_extra": [f"agent {AGENT}"]}
AGENT_DIR.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module")
def env(lab, ctld):
    token = ctld.admin_token()
    cucoseed.seed(ctld.url, token)
    r = ctld.post("/api/v1/dataplanes", token=token, json={"name": "edge", "endpoint": AGENT})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 10
    while ctld.get("/api/v1/dataplanes", token=token).json()[0]["state"] != "synced":
        assert time.monotonic() < deadline, "the lab's dataplane did not sync"
        time.sleep(0.05)
    offs = {o["name"]: o for o in ctld.get(f"{CAT}/productOffering", token=token).json()}
    custs = ctld.get(f"{CUST}?status=active", token=token).json()
    return {"token": token, "offerings": offs, "customers": custs}


def sql(ctld, q):
    return cucoctld.psql(ctld.db_url, q)


_vlans = itertools.count(100)


def order_body(customer_id, offering_id, action="add", service_id=None, vlan=None,
               inventory=(("ONT-NOKIA-G010G", 1),), pool=None):
    # each new service its own access VLAN: the network domain lends one once
    chars = [{"name": "vlan", "value": vlan if vlan is not None else next(_vlans)}]
    if pool is not None:
        chars.append({"name": "prefixPool", "value": pool})
    product = {"productCharacteristic": chars}
    if service_id:
        product["id"] = service_id
    return {"description": "fiber for home",
            "relatedParty": [{"id": customer_id, "role": "customer",
                              "@referredType": "Customer"}],
            "productOrderItem": [{"id": "1", "action": action,
                                  "productOffering": {"id": offering_id},
                                  "product": product,
                                  "x-inventory": [{"sku": s, "quantity": q}
                                                  for s, q in inventory]}]}


def place(ctld, env, body, want=201):
    r = ctld.post(f"{TMF}/productOrder", token=env["token"], json=body)
    assert r.status_code == want, r.text
    return r.json()


def wait_final(ctld, env, oid, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        o = ctld.get(f"{TMF}/productOrder/{oid}", token=env["token"]).json()
        if o["state"] in FINAL:
            return o
        time.sleep(0.1)
    saga = ctld.get(f"/api/v1/orders/{oid}/saga", token=env["token"]).json()
    raise AssertionError(f"order {oid} not final: {o['state']}; saga {saga}")


def saga_of(ctld, env, oid):
    r = ctld.get(f"/api/v1/orders/{oid}/saga", token=env["token"])
    assert r.status_code == 200, r.text
    return r.json()


def effects(ctld, oid):
    """What the saga left in every domain for order @oid, counted in the tables."""
    return {
        "plans": sql(ctld, f"SELECT count(*) FROM billing.plans WHERE order_id = '{oid}'"),
        "plan_states": sql(ctld, f"SELECT string_agg(state, ',') FROM billing.plans"
                                 f" WHERE order_id = '{oid}'"),
        "plan_created": sql(ctld, "SELECT count(*) FROM billing.outbox WHERE type ="
                                  f" 'billing.plan.created' AND payload->>'order_id' = '{oid}'"),
        "plan_activated": sql(ctld, "SELECT count(*) FROM billing.outbox WHERE type ="
                                    " 'billing.plan.activated' AND"
                                    f" payload->>'order_id' = '{oid}'"),
        "reservations": sql(ctld, "SELECT string_agg(state, ',') FROM catalog.reservations"
                                  f" WHERE reservation_id LIKE '{oid}.%'"),
        "reserved_events": sql(ctld, "SELECT count(*) FROM catalog.outbox WHERE type ="
                                     " 'catalog.inventory.reserved' AND payload->'reservation'"
                                     f"->>'reservation_id' LIKE '{oid}.%'"),
        "commits": sql(ctld, "SELECT count(*) FROM catalog.outbox WHERE type ="
                             " 'catalog.inventory.committed' AND payload->'reservation'"
                             f"->>'reservation_id' LIKE '{oid}.%'"),
        "notifications": sql(ctld, "SELECT count(*) FROM customer.notifications"
                                   f" WHERE order_id = '{oid}'"),
        "services": sql(ctld, "SELECT string_agg(state, ',') FROM network.services"
                              f" WHERE order_id = '{oid}'"),
    }


def assert_completed_once(ctld, env, oid):
    o = wait_final(ctld, env, oid)
    assert o["state"] == "completed", saga_of(ctld, env, oid)
    assert o["productOrderItem"][0]["state"] == "completed"
    e = effects(ctld, oid)
    assert e["plans"] == "1" and e["plan_states"] == "active", e
    assert e["plan_created"] == "1" and e["plan_activated"] == "1", e
    assert e["reservations"] == "committed" and e["reserved_events"] == "1", e
    assert e["commits"] == "1", e
    assert e["notifications"] == "1", e
    assert e["services"] == "active", e
    return o


def assert_compensated(ctld, env, oid, state="failed"):
    o = wait_final(ctld, env, oid)
    assert o["state"] == state, saga_of(ctld, env, oid)
    e = effects(ctld, oid)
    # nothing left reserved, billed or served
    assert e["reservations"] in (None, "", "released"), e
    assert e["plan_states"] in (None, "", "cancelled"), e
    assert e["plan_activated"] == "0" and e["commits"] == "0", e
    assert e["services"] in (None, "", "terminated"), e
    return o


# ---------------------------------------------------------------------------- happy path

def test_order_fiber50_completes(ctld, env):
    cust = env["customers"][0]
    o = place(ctld, env, order_body(cust["id"], env["offerings"]["Fiber 50"]["id"]))
    assert o["state"] == "acknowledged"
    assert o["productOrderItem"][0]["productOffering"]["name"] == "Fiber 50"
    done = assert_completed_once(ctld, env, o["id"])
    assert done["productOrderItem"][0]["product"]["id"]
    assert done["completionDate"]
    saga = saga_of(ctld, env, o["id"])
    assert saga["state"] == "completed"
    assert [s["command"] for s in saga["steps"]] == list(STEPS)
    for s in saga["steps"]:
        assert s["state"] == "done" and s["attempts"] == 1 and s["last_error"] is None
        assert s["started_at"] and s["finished_at"] and s["duration_ms"] >= 0
    # the billing plan carries the catalog's price snapshot
    items = sql(ctld, f"SELECT items::text FROM billing.plans WHERE order_id = '{o['id']}'")
    assert abs(json.loads(items)[0]["price"]["recurring"]["value"] - 24.90) < 0.001
    # the customer was told on a channel the preferences allow
    assert sql(ctld, "SELECT state || ' ' || channel FROM customer.notifications"
                     f" WHERE order_id = '{o['id']}'") == "sent email"
    states = sql(ctld, "SELECT string_agg(payload->>'state', ',' ORDER BY aggregate_version) FROM \"order\".outbox"
                       f" WHERE aggregate_id = '{o['id']}' AND type = 'order.order.state_changed'")
    assert states == "inProgress,completed"


def test_list_filters_and_patch(ctld, env):
    cust = env["customers"][1]
    o = place(ctld, env, order_body(cust["id"], env["offerings"]["Fiber 100"]["id"]))
    wait_final(ctld, env, o["id"])
    r = ctld.get(f"{TMF}/productOrder?relatedParty.id={cust['id']}&state=completed",
                 token=env["token"])
    assert r.status_code == 200 and [x["id"] for x in r.json()] == [o["id"]]
    assert ctld.get(f"{TMF}/productOrder?bogus=1", token=env["token"]).status_code == 400
    r = ctld.patch(f"{TMF}/productOrder/{o['id']}", token=env["token"],
                   json={"note": [{"text": "called the customer"}], "description": "d2"})
    assert r.status_code == 200, r.text
    assert r.json()["note"][0]["text"] == "called the customer"
    r = ctld.patch(f"{TMF}/productOrder/{o['id']}", token=env["token"],
                   json={"state": "completed"})
    assert r.status_code in (400, 422)


def test_modify_then_delete_held_service(ctld, env):
    cust = env["customers"][1]
    o = place(ctld, env, order_body(cust["id"], env["offerings"]["Fiber 20"]["id"]))
    svc = assert_completed_once(ctld, env, o["id"])["productOrderItem"][0]["product"]["id"]
    m = place(ctld, env, order_body(cust["id"], env["offerings"]["Fiber 500"]["id"],
                                    action="modify", service_id=svc, inventory=()))
    assert wait_final(ctld, env, m["id"])["state"] == "completed"
    assert sql(ctld, f"SELECT offering_id FROM \"order\".services WHERE service_id = '{svc}'") == \
        env["offerings"]["Fiber 500"]["id"]
    d = place(ctld, env, order_body(cust["id"], env["offerings"]["Fiber 500"]["id"],
                                    action="delete", service_id=svc, inventory=()))
    assert wait_final(ctld, env, d["id"])["state"] == "completed"
    assert sql(ctld, f"SELECT state FROM \"order\".services WHERE service_id = '{svc}'") == \
        "terminated"
    # a ceased service cannot be modified again
    r = ctld.post(f"{TMF}/productOrder", token=env["token"],
                  json=order_body(cust["id"], env["offerings"]["Fiber 50"]["id"],
                                  action="modify", service_id=svc, inventory=()))
    assert r.status_code == 422 and r.json()["code"] == "service-not-held"


# ---------------------------------------------------------------------------- refusals

def is_problem(r, status, code, field=None):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.text
    if field is not None:
        assert r.json().get("field") == field, r.text


def test_refuses_retired_offering(ctld, env):
    off = env["offerings"]["Fiber 1000"]
    r = ctld.patch(f"{CAT}/productOffering/{off['id']}", token=env["token"],
                   json={"lifecycleStatus": "Retired"})
    assert r.status_code == 200, r.text
    body = order_body(env["customers"][0]["id"], off["id"])
    deadline = time.monotonic() + 10
    while True:  # the catalog's read model catches up
        r = ctld.post(f"{TMF}/productOrder", token=env["token"], json=body)
        if r.status_code != 201 or time.monotonic() > deadline:
            break
        wait_final(ctld, env, r.json()["id"])
        time.sleep(0.2)
    is_problem(r, 422, "not-orderable", "/productOrderItem/0/productOffering/id")
    assert "Retired" in r.json()["detail"]


def test_refuses_closed_customer(ctld, env):
    party = ctld.post("/tmf-api/party/v4/individual", token=env["token"],
                      json={"givenName": "Closed", "familyName": "Account"}).json()
    cust = ctld.post(CUST, token=env["token"],
                     json={"engagedParty": {"id": party["id"], "@referredType": "Individual"},
                           "status": "active"}).json()
    r = ctld.patch(f"{CUST}/{cust['id']}", token=env["token"], json={"status": "closed"},
                   headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200, r.text
    before = sql(ctld, "SELECT count(*) FROM \"order\".orders")
    r = ctld.post(f"{TMF}/productOrder", token=env["token"],
                  json=order_body(cust["id"], env["offerings"]["Fiber 50"]["id"]))
    is_problem(r, 422, "customer-not-eligible", "/relatedParty")
    r = ctld.post(f"{TMF}/productOrder", token=env["token"],
                  json=order_body(str(uuid.uuid4()), env["offerings"]["Fiber 50"]["id"]))
    is_problem(r, 422, "customer-not-eligible", "/relatedParty")
    assert sql(ctld, "SELECT count(*) FROM \"order\".orders") == before


def test_refuses_modify_of_service_not_held(ctld, env):
    r = ctld.post(f"{TMF}/productOrder", token=env["token"],
                  json=order_body(env["customers"][0]["id"], env["offerings"]["Fiber 50"]["id"],
                                  action="modify", service_id=str(uuid.uuid4())))
    is_problem(r, 422, "service-not-held", "/productOrderItem/0/product/id")
    r = ctld.post(f"{TMF}/productOrder", token=env["token"],
                  json=order_body(env["customers"][0]["id"], env["offerings"]["Fiber 50"]["id"],
                                  action="modify"))
    is_problem(r, 400, "invalid-argument", "/productOrderItem/0/product/id")
    r = ctld.post(f"{TMF}/productOrder", token=env["token"],
                  json=order_body(env["customers"][0]["id"], env["offerings"]["Fiber 50"]["id"],
                                  vlan=5000))
    is_problem(r, 400, "invalid-argument",
               "/productOrderItem/0/product/productCharacteristic/0/value")


# ---------------------------------------------------------------------------- failures

def test_insufficient_inventory_fails_and_reserves_nothing(ctld, env):
    o = place(ctld, env, order_body(env["customers"][0]["id"],
                                    env["offerings"]["Fiber 50"]["id"],
                                    inventory=(("ONT-NOKIA-G010G", 1), ("PORT-10G", 1000))))
    assert_compensated(ctld, env, o["id"])
    e = effects(ctld, o["id"])
    assert e["reservations"] in (None, "") and e["plans"] == "0", e
    saga = saga_of(ctld, env, o["id"])
    assert saga["outcome"] == "failed" and "available" in saga["failure"]
    assert saga["steps"][0]["state"] == "failed"
    assert all(s["state"] == "pending" for s in saga["steps"][1:-1])
    # the customer is told, the confirmation step carrying the bad news
    assert saga["steps"][-1]["command"] == "customer.notification.send"
    assert saga["steps"][-1]["state"] == "done"
    assert sql(ctld, "SELECT string_agg(kind, ',') FROM customer.notifications"
                     f" WHERE order_id = '{o['id']}'") == "order.failed"


def test_failing_network_step_compensates_in_reverse(ctld, env):
    o = place(ctld, env, order_body(env["customers"][0]["id"],
                                    env["offerings"]["Fiber 50"]["id"], pool="no-such-pool"))
    assert_compensated(ctld, env, o["id"])
    e = effects(ctld, o["id"])
    assert e["reservations"] == "released" and e["plan_states"] == "cancelled", e
    saga = saga_of(ctld, env, o["id"])
    assert saga["state"] == "compensated" and saga["outcome"] == "failed"
    steps = {s["command"]: s for s in saga["steps"]}
    assert steps["network.service.provision"]["state"] == "failed"
    assert steps["billing.plan.create"]["compensation"]["state"] == "done"
    assert steps["catalog.order.reserve"]["compensation"]["state"] == "done"
    # reverse order: the plan was cancelled before the reservation was released
    assert steps["billing.plan.create"]["compensation"]["finished_at"] <= \
        steps["catalog.order.reserve"]["compensation"]["finished_at"]
    assert o and wait_final(ctld, env, o["id"])["productOrderItem"][0]["state"] == "failed"


# ---------------------------------------------------------------------------- cancel

def test_cancel_before_provisioning_compensates(ctld, env):
    # Hold the billing table so the saga waits in its billing step, then cancel.
    hold = subprocess.Popen(["psql", "-qAtX", ctld.db_url, "-c",
                             "BEGIN; LOCK TABLE billing.plans IN ACCESS EXCLUSIVE MODE;"
                             " SELECT pg_sleep(2); COMMIT;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        o = place(ctld, env, order_body(env["customers"][0]["id"],
                                        env["offerings"]["Fiber 50"]["id"]))
        r = ctld.post(f"{TMF}/cancelProductOrder", token=env["token"],
                      json={"productOrder": {"id": o["id"]}, "cancellationReason": "moved"})
        assert r.status_code == 201, r.text
        assert r.json()["productOrder"]["id"] == o["id"]
    finally:
        hold.wait(10)
    done = assert_compensated(ctld, env, o["id"], state="cancelled")
    assert done["cancellationReason"] == "moved"
    saga = saga_of(ctld, env, o["id"])
    assert saga["outcome"] == "cancelled"
    assert sql(ctld, "SELECT string_agg(kind, ',') FROM customer.notifications"
                     f" WHERE order_id = '{o['id']}'") == "order.cancelled"
    assert all(s["attempts"] == 0 for s in saga["steps"] if s["domain"] == "network")


def test_cancel_after_provisioning_is_409(ctld, env):
    o = place(ctld, env, order_body(env["customers"][0]["id"],
                                    env["offerings"]["Fiber 50"]["id"]))
    wait_final(ctld, env, o["id"])
    r = ctld.post(f"{TMF}/cancelProductOrder", token=env["token"],
                  json={"productOrder": {"id": o["id"]}})
    is_problem(r, 409, "illegal-transition")
    assert wait_final(ctld, env, o["id"])["state"] == "completed"


# ---------------------------------------------------------------------------- kill -9

def crash_and_recover(ctld, env, point, body):
    os.environ["CUCO_TEST_CRASH_AT"] = point
    try:
        ctld.restart()
        token = ctld.admin_token()
        env["token"] = token
        o = place(ctld, env, body)
        deadline = time.monotonic() + 20
        while ctld.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ctld.proc.poll() is not None, f"controld did not crash at {point}"
        ctld.proc = None
    finally:
        os.environ.pop("CUCO_TEST_CRASH_AT", None)
    ctld.start_controld()
    env["token"] = ctld.admin_token()
    return o


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("step", STEPS)
def test_kill9_at_each_step_completes_once(ctld, env, step, when):
    o = crash_and_recover(ctld, env, f"saga:{when}:{step}",
                          order_body(env["customers"][0]["id"],
                                     env["offerings"]["Fiber 50"]["id"]))
    assert_completed_once(ctld, env, o["id"])
    saga = saga_of(ctld, env, o["id"])
    crashed = [s for s in saga["steps"] if s["command"] == step][0]
    assert crashed["attempts"] == 2  # the same command once more after the restart


@pytest.mark.parametrize("point", ["saga:before:billing.plan.cancel",
                                   "saga:after:billing.plan.cancel",
                                   "saga:after:catalog.order.release"])
def test_kill9_during_compensation_compensates_once(ctld, env, point):
    o = crash_and_recover(ctld, env, point,
                          order_body(env["customers"][0]["id"],
                                     env["offerings"]["Fiber 50"]["id"], pool="no-such-pool"))
    assert_compensated(ctld, env, o["id"])
    e = effects(ctld, o["id"])
    assert e["reservations"] == "released" and e["plan_states"] == "cancelled", e
    assert sql(ctld, "SELECT count(*) FROM billing.outbox WHERE type = 'billing.plan.cancelled'"
                     f" AND payload->>'order_id' = '{o['id']}'") == "1"
    assert sql(ctld, "SELECT count(*) FROM catalog.outbox WHERE type ="
                     " 'catalog.inventory.released' AND payload->'reservation'"
                     f"->>'reservation_id' LIKE '{o['id']}.%'") == "1"
