"""The billing domain against the real cuco-controld, its PostgreSQL and the
lab's real dataplane: a seeded customer orders Fiber 100 through TMF622 at
the start of last month and changes to Fiber 500 in its middle; the run of
last month's cycle invoices both speeds prorated to the day, the promotion,
the one-off fee, the usage rows of the service and VAT. The invoice is due at
once (payment terms 0) and dunning suspends the customer at once (a step at
0 days): the network domain suspends the service and the fast path stops
its traffic; a payment settles the invoice and the traffic flows again.
Then a run of 40 accounts is killed (-9) after 7 invoices and restarted:
each invoice is issued once and the year's numbers have no gap.

cuco-controld runs in the host's namespace, the dataplane in the lab's
cuco-edge namespace; its agent listens on an ipc:// path."""

import datetime
import os
import shutil
import time
from pathlib import Path

import pytest

import cucoctld
import cucoseed
from test_subscribers import A4, ping, UP4

AGENT_DIR = Path(f"/run/cuco-lab/bi{os.getpid()}")
AGENT = f"ipc://{AGENT_DIR}/agent.sock"
LAB_OPTIONS = {"config_extra": [f"agent {AGENT}"]}
CTLD_OPTIONS = {"config_extra": "rate-limit token 1000 2000\nrate-limit address 1000 2000\n"
                "billing-schedule off\nbilling-payment-terms 0\nbilling-tax-rate 20\n"
                "billing-dunning 0 suspend\nbilling-dunning-interval 1\n"}
TMF622 = "/tmf-api/productOrderingManagement/v4"
ACCOUNTS = "/tmf-api/accountManagement/v4/billingAccount"
TMF678 = "/tmf-api/customerBillManagement/v4"
PAYMENTS = "/tmf-api/paymentManagement/v4/payment"
CUST = "/tmf-api/customerManagement/v4/customer"
OFFERINGS = "/tmf-api/productCatalogManagement/v4/productOffering"
FINAL = ("completed", "failed", "partial", "cancelled")

AGENT_DIR.mkdir(parents=True, exist_ok=True)

TODAY = datetime.datetime.now(datetime.timezone.utc).date()
CYCLE_END = TODAY.replace(day=1)                          # the 1st of this month
CYCLE = (CYCLE_END - datetime.timedelta(days=1)).replace(day=1)  # last month's cycle
DAYS = (CYCLE_END - CYCLE).days
START = CYCLE + datetime.timedelta(days=4)                # ordered on the 5th
CHANGE = CYCLE + datetime.timedelta(days=19)              # Fiber 500 from the 20th
EARLIER = (CYCLE - datetime.timedelta(days=1)).replace(day=1)  # the cycle before


@pytest.fixture(scope="module", autouse=True)
def _crash_hook_off():
    yield
    os.environ.pop("CUCO_TEST_CRASH_AT", None)


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.05)


def rnd(num, den):
    """The domain's rounding rule: nearest, halves away from zero."""
    q, r = divmod(abs(num), den)
    q += 2 * r >= den
    return q if num >= 0 else -q


def sql(ctld, text):
    return cucoctld.psql(ctld.db_url, text)


@pytest.fixture(scope="module")
def env(lab, ctld):
    try:
        token = ctld.admin_token()
        cucoseed.seed(ctld.url, token)
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
        ada = ctld.get(f"{CUST}?name=Ada", token=token).json()[0]
        yield {"token": token, "offerings": offerings, "customer": ada}
    finally:
        shutil.rmtree(AGENT_DIR, ignore_errors=True)


def dp_subscribers(lab):
    import json
    p = lab.dpctl("-e", AGENT, "list", json_out=True, dpctl_timeout=5)
    return json.loads(p.stdout)["subscribers"] if p.returncode == 0 else []


def order(ctld, env, offering, start, action="add", service_id=None):
    product = {"productCharacteristic": [{"name": "prefixPool", "value": "lab4"}]}
    if service_id:
        product = {"id": service_id}
    body = {"requestedStartDate": start.isoformat(),
            "relatedParty": [{"id": env["customer"]["id"], "role": "customer",
                              "@referredType": "Customer"}],
            "productOrderItem": [{"id": "1", "action": action,
                                  "productOffering": {"id": env["offerings"][offering]["id"]},
                                  "product": product}]}
    r = ctld.post(f"{TMF622}/productOrder", token=env["token"], json=body)
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    o = wait_for(f"order {oid} final", lambda: (lambda o: o if o["state"] in FINAL else None)(
        ctld.get(f"{TMF622}/productOrder/{oid}", token=env["token"]).json()), 30)
    assert o["state"] == "completed", o
    return o


def run_cycle(ctld, token, cycle, timeout=60):
    r = ctld.post("/api/v1/billing-runs", token=token, json={"cycleStart": cycle.isoformat()})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    return wait_for(f"run {rid} completed", lambda: (lambda x: x if x["state"] == "completed"
                                                     else None)(
        ctld.get(f"/api/v1/billing-runs/{rid}", token=token).json()), timeout)


def money(m):
    return m["x-minorUnits"]


# --------------------------------------------------------------------------------- tests
def test_account_opened_with_the_first_order(lab, ctld, env):
    order(ctld, env, "Fiber 100", START)
    sub = wait_for("the service in the fast path",
                   lambda: [s for s in dp_subscribers(lab)
                            if s["match"].get("prefixes") == [f"{A4}/32"]], 5)[0]
    env["service"] = sub["id"]
    accts = ctld.get(f"{ACCOUNTS}?relatedParty.id={env['customer']['id']}",
                     token=env["token"]).json()
    assert len(accts) == 1, accts
    acct = accts[0]
    assert acct["state"] == "active"
    assert acct["billStructure"]["cycleSpecification"]["name"] == "calendar"
    assert money(acct["accountBalance"][0]["amount"]) == 0
    env["account"] = acct["id"]
    # one account per customer
    r = ctld.post(ACCOUNTS, token=env["token"],
                  json={"relatedParty": [{"id": env["customer"]["id"], "role": "customer"}]})
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "/relatedParty"


def test_speed_change_prorated_to_the_day_with_usage(lab, ctld, env):
    if "service" not in env:
        pytest.skip("the first order did not complete")
    sid = env["service"]
    order(ctld, env, "Fiber 500", CHANGE, action="modify", service_id=sid)
    # usage rows: three in the cycle, one before it, one after it
    rows = [(CYCLE + datetime.timedelta(days=d), up, down)
            for d, up, down in ((0, 1000, 2000), (9, 123456789, 987654321),
                                (DAYS - 1, 5, 7))]
    outside = [(EARLIER, 111, 222), (CYCLE_END, 333, 444)]
    values = []
    for i, (day, up, down) in enumerate(rows + outside):
        t = f"{day.isoformat()}T00:00:00Z"
        values.append(f"('{sid}', 'edge', 'boot-1', {i + 1}, '{t}', '{t}'::timestamptz "
                      f"+ interval '1 minute', {up}, {down})")
    # usage_partition() names its tables without a schema: the domain's search path
    sql(ctld, "SET search_path TO billing; SELECT billing.usage_partition(d) FROM (VALUES "
        + ", ".join(f"('{d.isoformat()}'::timestamptz)" for d in (EARLIER, CYCLE, CYCLE_END))
        + ") AS v(d);"
        "INSERT INTO billing.usage (service_id, dataplane, boot_id, seq, start_time, "
        "end_time, bytes_up, bytes_down) VALUES " + ", ".join(values))
    run = run_cycle(ctld, env["token"], CYCLE)
    assert run["failed"] == 0, run
    assert run["invoiced"] >= 1, run
    bills = ctld.get(f"{TMF678}/customerBill?billingAccount.id={env['account']}",
                     token=env["token"]).json()
    assert len(bills) == 1, bills
    bill = bills[0]
    env["bill"] = bill
    assert bill["billingPeriod"]["startDateTime"].startswith(CYCLE.isoformat())
    assert bill["state"] == "sent"
    lines = ctld.get(f"{TMF678}/appliedCustomerBillingRate?bill.id={bill['id']}&limit=100",
                     token=env["token"]).json()
    by = {}
    for ln in lines:
        by.setdefault(ln["type"], []).append(ln)
    env["lines"] = by
    # Fiber 100 at 29.90 from the 5th to the 20th, Fiber 500 at 44.90 from the 20th
    d1, d2 = (CHANGE - START).days, (CYCLE_END - CHANGE).days
    pro = sorted(money(ln["taxExcludedAmount"]) for ln in by["proration"])
    assert pro == sorted([rnd(2990 * d1, DAYS), rnd(4490 * d2, DAYS)]), by["proration"]
    # the welcome promotion: half price, prorated alike
    disc = sorted(money(ln["taxExcludedAmount"]) for ln in by["discount"])
    assert disc == sorted([-rnd(1495 * d1, DAYS), -rnd(2245 * d2, DAYS)]), by["discount"]
    # the installation fee once, for the first order only
    assert [money(ln["taxExcludedAmount"]) for ln in by["oneTime"]] == [4900]
    net = sum(pro) + sum(disc) + 4900
    assert money(bill["taxExcludedAmount"]) == net
    assert money(bill["taxItem"][0]["taxAmount"]) == rnd(net * 2000, 10000)
    assert money(bill["amountDue"]) == net + rnd(net * 2000, 10000)
    # the usage line is the sum of the cycle's usage rows, nothing else
    assert len(by["usage"]) == 1, by["usage"]
    qty = {c["name"]: c["value"] for c in by["usage"][0]["characteristic"]}
    assert qty["quantity"] == sum(up + down for _d, up, down in rows)
    assert qty["unit"] == "byte"
    assert by["usage"][0]["product"]["id"] == sid


def test_invoices_are_immutable_and_numbered(lab, ctld, env):
    if "bill" not in env:
        pytest.skip("no invoice")
    bill = env["bill"]
    assert bill["billNo"] == f"INV-{TODAY.year}-000001"
    with pytest.raises(cucoctld.ControldError, match="immutable"):
        sql(ctld, "UPDATE billing.invoice_lines SET amount_minor = 0")
    with pytest.raises(cucoctld.ControldError, match="immutable|only its state"):
        sql(ctld, f"UPDATE billing.invoices SET total_minor = 1 WHERE id = '{bill['id']}'")
    with pytest.raises(cucoctld.ControldError, match="immutable"):
        sql(ctld, "DELETE FROM billing.invoice_lines")
    # a second run of the cycle issues nothing more
    run = run_cycle(ctld, env["token"], CYCLE)
    assert run["invoiced"] == 0, run
    assert sql(ctld, "SELECT count(*) FROM billing.invoices") == "1"
    # a sent bill cannot go back to new
    r = ctld.patch(f"{TMF678}/customerBill/{bill['id']}", token=env["token"],
                   json={"state": "new"})
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "illegal-transition" and r.json()["field"] == "/state"


def test_overdue_suspends_then_payment_restores(lab, ctld, env):
    if "bill" not in env:
        pytest.skip("no invoice")
    sid, bill, token = env["service"], env["bill"], env["token"]
    # due at once, a suspension step at 0 days: the next dunning tick suspends
    wait_for("account suspended", lambda: ctld.get(f"{ACCOUNTS}/{env['account']}", token=token)
             .json()["state"] == "suspended", 10)
    dun = ctld.get("/api/v1/dunning", token=token).json()
    mine = [a for a in dun["accounts"] if a["billingAccount"]["id"] == env["account"]]
    assert mine and mine[0]["suspension"] == "suspended", dun
    assert [a["action"] for a in mine[0]["actions"]] == ["suspend"]
    wait_for("suspended in the fast path", lambda: [
        s for s in dp_subscribers(lab) if s["id"] == sid and s["availability"] == "suspended"], 10)
    received, p = ping(lab, "cust", UP4, count=3)
    assert received == 0, f"a suspended customer's traffic still flows:\n{p.stdout}"
    # the payment of the whole bill, by its external reference
    due = bill["amountDue"]
    pay = {"correlatorId": "bank-2026-0001", "account": {"id": env["account"]},
           "totalAmount": {"unit": due["unit"], "value": due["value"]},
           "paymentMethod": {"name": "transfer"}}
    r = ctld.post(PAYMENTS, token=token, json=pay)
    assert r.status_code == 201, r.text
    payment = r.json()
    assert [money(i["amount"]) for i in payment["paymentItem"]] == [money(due)]
    b = ctld.get(f"{TMF678}/customerBill/{bill['id']}", token=token).json()
    assert b["state"] == "settled" and money(b["remainingAmount"]) == 0, b
    acct = ctld.get(f"{ACCOUNTS}/{env['account']}", token=token).json()
    assert acct["state"] == "active" and money(acct["accountBalance"][0]["amount"]) == 0, acct
    wait_for("active in the fast path", lambda: [
        s for s in dp_subscribers(lab) if s["id"] == sid and s["availability"] == "active"], 10)
    wait_for("traffic again", lambda: ping(lab, "cust", UP4, count=3)[0] == 3, 10)
    # the same payment again: the first answer, nothing recorded twice
    r = ctld.post(PAYMENTS, token=token, json=pay)
    assert r.status_code == 200 and r.json()["id"] == payment["id"], r.text
    # another amount under the same reference is refused, naming the field
    r = ctld.post(PAYMENTS, token=token, json=dict(pay, totalAmount={"unit": "EUR", "value": 1}))
    assert r.status_code == 409 and r.json()["field"] == "/correlatorId", r.text
    assert sql(ctld, "SELECT count(*) FROM billing.payments") == "1"


def test_refusals_name_the_field(ctld, env):
    token = env["token"]
    future = (CYCLE_END + datetime.timedelta(days=40)).replace(day=1)
    r = ctld.post("/api/v1/billing-runs", token=token, json={"cycleStart": future.isoformat()})
    assert r.status_code == 422 and r.json()["field"] == "/cycleStart", r.text
    r = ctld.post("/api/v1/billing-runs", token=token, json={"cycleStart": "2026-02-30"})
    assert r.status_code == 422 and r.json()["field"] == "/cycleStart", r.text
    r = ctld.post("/api/v1/billing-runs", token=token, json={"cycleStart": "2026-01-29"})
    assert r.status_code == 400 and r.json()["field"] == "/cycleStart", r.text
    r = ctld.post(PAYMENTS, token=token, json={
        "correlatorId": "x-1", "account": {"id": env.get("account", "0" * 8)},
        "totalAmount": {"unit": "EUR", "value": 10.005}})
    assert r.status_code == 400 and r.json()["field"] == "/totalAmount", r.text
    r = ctld.post(PAYMENTS, token=token, json={
        "correlatorId": "x-2", "account": {"id": "00000000-0000-4000-8000-000000000000"},
        "totalAmount": {"unit": "EUR", "value": 10}})
    assert r.status_code == 400 and r.json()["field"] == "/account/id", r.text
    if "bill" in env:
        r = ctld.post(f"/api/v1/customer-bills/{env['bill']['id']}/credit-note", token=token,
                      json={"reason": "goodwill"})
        assert r.status_code == 409, r.text  # settled: nothing left to credit


def test_run_killed_issues_each_invoice_once_gapless(lab, ctld, env):
    n = 40
    # 40 accounts with a plan and a running charge each, directly in the schema
    sql(ctld, f"""
        INSERT INTO billing.plans (id, create_step_id, order_id, customer_id, state, items,
                                   start_date, activated_at)
        SELECT md5('p' || g)::uuid, 'kill:' || g, md5('o' || g)::uuid, md5('c' || g)::uuid,
               'active', '[]', '{EARLIER.isoformat()}', now() FROM generate_series(1, {n}) g;
        INSERT INTO billing.accounts (id, customer_id, name, cycle, cycle_day, currency,
                                      payment_terms_days)
        SELECT md5('a' || g)::uuid, md5('c' || g)::uuid, 'kill test ' || g, 'calendar', 1,
               'EUR', 30 FROM generate_series(1, {n}) g;
        INSERT INTO billing.charges (id, account_id, plan_id, order_item_id, offering_id, name,
                                     currency, recurring_minor, start_date)
        SELECT md5('ch' || g)::uuid, md5('a' || g)::uuid, md5('p' || g)::uuid, '1', 'off',
               'Fiber 50', 'EUR', 2490 + g, '{EARLIER.isoformat()}'
        FROM generate_series(1, {n}) g;""")
    before = int(sql(ctld, "SELECT count(*) FROM billing.invoices"))
    os.environ["CUCO_TEST_CRASH_AT"] = "billing-run:after:7"
    try:
        ctld.restart()
        r = ctld.post("/api/v1/billing-runs", token=env["token"],
                      json={"cycleStart": EARLIER.isoformat()})
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        deadline = time.monotonic() + 30
        while ctld.proc.poll() is None:
            assert time.monotonic() < deadline, "controld was not killed by the test hook"
            time.sleep(0.05)
        assert ctld.proc.returncode == -9
    finally:
        os.environ.pop("CUCO_TEST_CRASH_AT", None)
    ctld.proc = None
    issued = int(sql(ctld, f"SELECT count(*) FROM billing.invoices WHERE run_id = '{rid}'"))
    assert 7 <= issued < n, f"{issued} invoices when the process was killed"
    ctld.start_controld()
    token = ctld.admin_token()
    run = wait_for("the run resumed and completed", lambda: (
        lambda x: x if x["state"] == "completed" else None)(
        ctld.get(f"/api/v1/billing-runs/{rid}", token=token).json()), 60)
    assert run["invoiced"] == n and run["failed"] == 0, run
    # each account once, numbers 1..N of the year without a gap
    assert sql(ctld, f"SELECT count(*), count(DISTINCT account_id) FROM billing.invoices "
               f"WHERE run_id = '{rid}'") == f"{n}|{n}"
    total = before + n
    assert sql(ctld, "SELECT count(*), min(seq), max(seq), count(DISTINCT seq) FROM "
               f"billing.invoices WHERE year = {TODAY.year}") == f"{total}|1|{total}|{total}"
    assert sql(ctld, f"SELECT last FROM billing.invoice_numbers WHERE year = {TODAY.year}") \
        == str(total)
    # every invoice with its lines: the charge and the tax
    assert sql(ctld, f"SELECT count(*) FROM billing.invoices i WHERE run_id = '{rid}' AND "
               "(SELECT count(*) FROM billing.invoice_lines l WHERE l.invoice_id = i.id) "
               "<> 2") == "0"
    env["token"] = token
