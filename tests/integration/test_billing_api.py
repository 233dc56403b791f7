"""The billing domain's REST resources against the real cuco-controld and its
PostgreSQL, without a dataplane: accounts (TMF666) and their versions, the
scheduled run of the cycle that ended, payments split over bills
(partiallyPaid, settled, credit for the next bill), credit notes, bills on
demand, and what a self-care user may see. Charges are written straight
into the billing schema (as a saga's activated plan leaves them)."""

import datetime
import time
import uuid

import pytest

import cucoctld

CTLD_OPTIONS = {"config_extra": "rate-limit token 1000 2000\nrate-limit address 1000 2000\n"
                "billing-payment-terms 30\nbilling-tax-rate 7.7\nbilling-dunning 30 reminder\n"}
ACCOUNTS = "/tmf-api/accountManagement/v4/billingAccount"
TMF678 = "/tmf-api/customerBillManagement/v4"
PAYMENTS = "/tmf-api/paymentManagement/v4/payment"

TODAY = datetime.datetime.now(datetime.timezone.utc).date()
THIS = TODAY.replace(day=1)
LAST = (THIS - datetime.timedelta(days=1)).replace(day=1)
BEFORE = (LAST - datetime.timedelta(days=1)).replace(day=1)


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
    q, r = divmod(abs(num), den)
    q += 2 * r >= den
    return q if num >= 0 else -q


def money(m):
    return m["x-minorUnits"]


@pytest.fixture(scope="module")
def env(ctld):
    return {"token": ctld.admin_token()}


def charge(ctld, account, price, start):
    plan = str(uuid.uuid4())
    cucoctld.psql(ctld.db_url, f"""
        INSERT INTO billing.plans (id, create_step_id, order_id, customer_id, state, items,
                                   start_date, activated_at)
        SELECT '{plan}', 'api:{plan}', gen_random_uuid(), customer_id, 'active', '[]',
               '{start.isoformat()}', now() FROM billing.accounts WHERE id = '{account}';
        INSERT INTO billing.charges (id, account_id, plan_id, order_item_id, offering_id, name,
                                     currency, recurring_minor, start_date)
        VALUES (gen_random_uuid(), '{account}', '{plan}', '1', 'off', 'Fiber 50', 'EUR',
                {price}, '{start.isoformat()}')""")


def test_accounts(ctld, env):
    token, cust = env["token"], str(uuid.uuid4())
    r = ctld.post(ACCOUNTS, token=token, json={
        "name": "Grace's account", "relatedParty": [{"id": cust, "role": "customer"}],
        "billStructure": {"cycleSpecification": {"name": "calendar"}},
        "paymentPlan": [{"x-paymentTermsDays": 10}]})
    assert r.status_code == 201, r.text
    acct = r.json()
    assert r.headers["Location"] == acct["href"]
    assert acct["state"] == "active" and acct["paymentPlan"][0]["x-paymentTermsDays"] == 10
    assert acct["billStructure"]["cycleSpecification"]["x-cycleDay"] == 1
    env["account"], env["customer"] = acct["id"], cust
    # refusals name the field
    r = ctld.post(ACCOUNTS, token=token, json={"relatedParty": [{"id": "not-a-uuid"}]})
    assert r.status_code == 422 and r.json()["field"].startswith("/relatedParty"), r.text
    r = ctld.post(ACCOUNTS, token=token, json={
        "relatedParty": [{"id": str(uuid.uuid4())}],
        "billStructure": {"cycleSpecification": {"name": "calendar", "x-cycleDay": 5}}})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "/billStructure/cycleSpecification/x-cycleDay"
    # versions: a stale If-Match is refused, the right one applies
    r = ctld.patch(f"{ACCOUNTS}/{acct['id']}", token=token, json={"name": "Grace"},
                   headers={"If-Match": '"7"'})
    assert r.status_code == 412, r.text
    r = ctld.patch(f"{ACCOUNTS}/{acct['id']}", token=token, json={"name": "Grace"},
                   headers={"If-Match": f'"{acct["x-version"]}"'})
    assert r.status_code == 200 and r.json()["name"] == "Grace", r.text
    assert r.json()["x-version"] == acct["x-version"] + 1
    r = ctld.get(f"{ACCOUNTS}/{uuid.uuid4()}", token=token)
    assert r.status_code == 404


def test_scheduled_run_of_the_ended_cycle(ctld, env):
    token = env["token"]
    # a charge from the start of the cycle before last: the scheduled run
    # (of last month's cycle) bills last month in full
    charge(ctld, env["account"], 2490, BEFORE)
    ctld.restart()  # the scheduler looks at start, then every minute
    token = env["token"] = ctld.admin_token()
    run = wait_for("the scheduled run", lambda: [
        x for x in ctld.get("/api/v1/billing-runs", token=token).json()
        if x["kind"] == "scheduled" and x["state"] == "completed"], 20)[0]
    assert run["cycleStart"] == LAST.isoformat() and run["failed"] == 0, run
    bills = ctld.get(f"{TMF678}/customerBill?billingAccount.id={env['account']}",
                     token=token).json()
    assert len(bills) == 1, bills
    bill = bills[0]
    tax = rnd(2490 * 770, 10000)
    assert money(bill["taxExcludedAmount"]) == 2490
    assert money(bill["amountDue"]) == 2490 + tax
    assert bill["billingPeriod"]["startDateTime"].startswith(LAST.isoformat())
    env["bill1"] = bill
    # the cycle before last is not billed by it: a run asked for it bills it
    r = ctld.post("/api/v1/billing-runs", token=token, json={"cycleStart": BEFORE.isoformat()})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    wait_for("the requested run", lambda: ctld.get(f"/api/v1/billing-runs/{rid}", token=token)
             .json()["state"] == "completed", 20)
    bills = ctld.get(f"{TMF678}/customerBill?billingAccount.id={env['account']}",
                     token=token).json()
    assert len(bills) == 2, bills
    env["bill0"] = [b for b in bills if b["id"] != bill["id"]][0]
    numbers = sorted(int(b["billNo"].rsplit("-", 1)[1]) for b in bills)
    assert numbers == [1, 2], bills


def test_payment_split_over_bills_then_credit(ctld, env):
    # the scheduled run issued bill1 first: its due date is the oldest
    token, first, second = env["token"], env["bill1"], env["bill0"]
    due1, due2 = money(first["amountDue"]), money(second["amountDue"])
    # the oldest due bill in full and part of the other
    r = ctld.post(PAYMENTS, token=token, json={
        "correlatorId": "sepa-1", "account": {"id": env["account"]},
        "totalAmount": {"unit": "EUR", "value": (due1 + 1000) / 100}})
    assert r.status_code == 201, r.text
    items = {i["item"]["id"]: money(i["amount"]) for i in r.json()["paymentItem"]}
    assert items == {first["id"]: due1, second["id"]: 1000}, r.json()
    got1 = ctld.get(f"{TMF678}/customerBill/{first['id']}", token=token).json()
    got2 = ctld.get(f"{TMF678}/customerBill/{second['id']}", token=token).json()
    assert got1["state"] == "settled" and got2["state"] == "partiallyPaid"
    assert money(got2["remainingAmount"]) == due2 - 1000
    acct = ctld.get(f"{ACCOUNTS}/{env['account']}", token=token).json()
    assert money(acct["accountBalance"][0]["amount"]) == due2 - 1000
    # more than owed: the rest is credit (a negative balance)
    r = ctld.post(PAYMENTS, token=token, json={
        "correlatorId": "sepa-2", "account": {"id": env["account"]},
        "totalAmount": {"unit": "EUR", "value": 100}})
    assert r.status_code == 201, r.text
    assert money(r.json()["x-unallocated"]) == 10000 - (due2 - 1000)
    got2 = ctld.get(f"{TMF678}/customerBill/{second['id']}", token=token).json()
    assert got2["state"] == "settled"
    acct = ctld.get(f"{ACCOUNTS}/{env['account']}", token=token).json()
    assert money(acct["accountBalance"][0]["amount"]) == -(10000 - (due2 - 1000))
    # a payment in another currency is refused, naming the field
    r = ctld.post(PAYMENTS, token=token, json={
        "correlatorId": "sepa-3", "account": {"id": env["account"]},
        "totalAmount": {"unit": "USD", "value": 1}})
    assert r.status_code == 400 and r.json()["field"] == "/totalAmount", r.text


def test_credit_note_and_bill_on_demand(ctld, env):
    token = env["token"]
    # a second account billed on demand for its last cycle
    cust = str(uuid.uuid4())
    acct = ctld.post(ACCOUNTS, token=token,
                     json={"relatedParty": [{"id": cust, "role": "customer"}]}).json()
    r = ctld.post(f"{TMF678}/customerBillOnDemand", token=token,
                  json={"billingAccount": {"id": acct["id"]}})
    assert r.status_code == 422 and r.json()["code"] == "nothing-to-bill", r.text
    charge(ctld, acct["id"], 1000, LAST + datetime.timedelta(days=10))
    r = ctld.post(f"{TMF678}/customerBillOnDemand", token=token,
                  json={"billingAccount": {"id": acct["id"]}, "name": "moving out"})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "done"
    bill = ctld.get(f"{TMF678}/customerBill/{r.json()['customerBill']['id']}",
                    token=token).json()
    days = (THIS - LAST).days
    net = rnd(1000 * (days - 10), days)
    assert bill["category"] == "onDemand" and money(bill["taxExcludedAmount"]) == net, bill
    # billed once: a run of that cycle skips it
    r = ctld.post("/api/v1/billing-runs", token=token, json={"cycleStart": LAST.isoformat()})
    rid = r.json()["id"]
    run = wait_for("run", lambda: (lambda x: x if x["state"] == "completed" else None)(
        ctld.get(f"/api/v1/billing-runs/{rid}", token=token).json()), 20)
    assert run["invoiced"] == 0, run
    # a credit note of 2.00 against it, then of all that is left
    r = ctld.post(f"/api/v1/customer-bills/{bill['id']}/credit-note", token=token,
                  json={"amount": {"unit": "EUR", "value": 2}, "reason": "outage on the 3rd"})
    assert r.status_code == 201, r.text
    cn = r.json()
    assert cn["category"] == "creditNote" and money(cn["amountDue"]) == -200, cn
    assert cn["x-creditedBill"]["id"] == bill["id"]
    b = ctld.get(f"{TMF678}/customerBill/{bill['id']}", token=token).json()
    assert money(b["remainingAmount"]) == money(bill["amountDue"]) - 200
    r = ctld.post(f"/api/v1/customer-bills/{bill['id']}/credit-note", token=token,
                  json={"reason": "cancelled"})
    assert r.status_code == 201, r.text
    b = ctld.get(f"{TMF678}/customerBill/{bill['id']}", token=token).json()
    assert b["state"] == "settled" and money(b["remainingAmount"]) == 0, b
    r = ctld.post(f"/api/v1/customer-bills/{bill['id']}/credit-note", token=token,
                  json={"amount": {"unit": "EUR", "value": 1}, "reason": "again"})
    assert r.status_code == 409, r.text
    # the lines of the credit note: the credit and its VAT, summing to its total
    lines = ctld.get(f"{TMF678}/appliedCustomerBillingRate?bill.id={cn['id']}",
                     token=token).json()
    assert sorted(ln["type"] for ln in lines) == ["credit", "tax"]
    assert sum(money(ln["taxExcludedAmount"]) for ln in lines) == -200
    # numbers stay gapless with credit notes among invoices
    n = cucoctld.psql(ctld.db_url, "SELECT count(*), max(seq) FROM billing.invoices")
    assert n.split("|")[0] == n.split("|")[1], n


def test_self_care_sees_its_own(ctld, env):
    token = env["token"]
    r = ctld.post("/api/v1/users", token=token, json={
        "name": "grace", "password": "correct horse battery staple 1",
        "roles": ["self-care"], "customer_id": env["customer"]})
    assert r.status_code == 201, r.text
    me = ctld.login("grace", "correct horse battery staple 1")["access_token"]
    mine = ctld.get(ACCOUNTS, token=me).json()
    assert [a["id"] for a in mine] == [env["account"]]
    bills = ctld.get(f"{TMF678}/customerBill", token=me).json()
    assert bills and all(b["billingAccount"]["id"] == env["account"] for b in bills)
    assert ctld.get("/api/v1/billing-runs", token=me).status_code == 403
    r = ctld.post(PAYMENTS, token=me, json={
        "correlatorId": "self-1", "account": {"id": env["account"]},
        "totalAmount": {"unit": "EUR", "value": 1}})
    assert r.status_code == 403, r.text
