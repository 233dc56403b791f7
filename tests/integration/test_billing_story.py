"""Billing's whole story through the lab, with real traffic.

A customer registered through the API orders "Metered 20" (a monthly price
and a usage price per GB) from the 1st of this month and changes to
"Metered 50" from the 15th. Datagrams of known lengths cross the lab's fast
path both ways, the dataplane is restarted between two bursts, and the
collector turns the dataplane's counters into usage rows. Then billing is
told it is the 1st of next month (the test hook
CUCO_TEST_BILLING_DAYS_AHEAD: billing's calendar only; the traffic, the
usage rows and the invoice's times keep the clock), runs this month's
cycle, and the invoice must hold:

  - the usage line: exactly the bytes the dataplane counted (the bytes we
    sent among them, counted once across the restart), rated at the price
    per GB of the service's latest charge;
  - both speeds prorated to the day, and VAT;

and the export feeds (CSV, JSON lines, IPFIX read back by nfdump, and the
invoices' JSON lines) carry the same totals as the invoice.
"""

import calendar
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from scapy.compat import raw
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import cucoctld
import cucoseed
from test_subscribers import _SINK, A4, UP4, helper, helper_result, ping

RUN_DIR = Path(f"/run/cuco-lab/bs{os.getpid()}")
AGENT = f"ipc://{RUN_DIR}/agent.sock"
USAGE = f"ipc://{RUN_DIR}/usage.sock"
FEEDS = Path(tempfile.mkdtemp(prefix="cuco-billing-story-"))


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


IPFIX_PORT = _free_udp_port()
TODAY = datetime.datetime.now(datetime.timezone.utc).date()
CYCLE = TODAY.replace(day=1)                                        # this month
DAYS = calendar.monthrange(CYCLE.year, CYCLE.month)[1]
CYCLE_END = CYCLE + datetime.timedelta(days=DAYS)                    # the 1st of next month
CHANGE = CYCLE + datetime.timedelta(days=14)                         # Metered 50 from the 15th
AHEAD = (CYCLE_END - TODAY).days                                     # billing's calendar: ahead
PER_GB = 100000      # 1000.00 EUR a GB beyond the allowance: a few hundred kB cost cents
IP_LEN, PORT = 700, 40200

LAB_OPTIONS = {"config_extra": [f"agent {AGENT}", f"usage {USAGE}", "usage-interval 500"]}
CTLD_OPTIONS = {"config_extra": (
    "rate-limit token 1000 2000\nrate-limit address 1000 2000\n"
    "billing-schedule off\nbilling-payment-terms 14\nbilling-tax-rate 20\n"
    f"feed ucsv usage csv {FEEDS}/ucsv interval 1\n"
    f"feed ujson usage jsonl {FEEDS}/ujson interval 1\n"
    f"feed ufix usage ipfix 127.0.0.1:{IPFIX_PORT} interval 1\n"
    f"feed inv invoices jsonl {FEEDS}/inv interval 1\n")}
TMF = "/tmf-api/productCatalogManagement/v4"
TMF622 = "/tmf-api/productOrderingManagement/v4"
TMF678 = "/tmf-api/customerBillManagement/v4"
IND = "/tmf-api/party/v4/individual"
CUST = "/tmf-api/customerManagement/v4/customer"
FINAL = ("completed", "failed", "partial", "cancelled")

RUN_DIR.mkdir(parents=True, exist_ok=True)
for sub in ("ucsv", "ujson", "inv", "nfcapd"):
    (FEEDS / sub).mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module", autouse=True)
def _billing_calendar_ahead():
    """Before controld starts (the ctld fixture comes after this one)."""
    os.environ["CUCO_TEST_BILLING_DAYS_AHEAD"] = str(AHEAD)
    yield
    os.environ.pop("CUCO_TEST_BILLING_DAYS_AHEAD", None)


def teardown_module(module):
    shutil.rmtree(FEEDS, ignore_errors=True)
    shutil.rmtree(RUN_DIR, ignore_errors=True)


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.1)


def rnd(num, den):
    """Billing's rounding rule: nearest, halves away from zero."""
    q, r = divmod(abs(num), den)
    q += 2 * r >= den
    return q if num >= 0 else -q


def sql(ctld, text):
    return cucoctld.psql(ctld.db_url, text)


def metered_offerings(api_post, api_patch, token, specs):
    """Metered 20 and Metered 50: Fiber 20's and 50's access at a monthly
    price, and one usage price per GB, no allowance."""
    usage = api_post(f"{TMF}/productOfferingPrice", {
        "name": "Volume", "priceType": "usage", "price": {"unit": "EUR", "value": PER_GB / 100},
        "unitOfMeasure": {"amount": 1, "units": "GB"}, "x-allowanceGB": 0})
    assert usage["x-minorUnits"] == PER_GB and usage["x-allowanceGB"] == 0, usage
    api_patch(f"{TMF}/productOfferingPrice/{usage['id']}", {"lifecycleStatus": "Active"})
    out = {}
    for name, spec, eur in (("Metered 20", "Fiber 20 access", 19.90),
                            ("Metered 50", "Fiber 50 access", 24.90)):
        monthly = api_post(f"{TMF}/productOfferingPrice", {
            "name": f"{name} monthly", "priceType": "recurring",
            "recurringChargePeriodType": "month", "price": {"unit": "EUR", "value": eur}})
        api_patch(f"{TMF}/productOfferingPrice/{monthly['id']}", {"lifecycleStatus": "Active"})
        off = api_post(f"{TMF}/productOffering", {
            "name": name, "productSpecification": {"id": specs[spec]},
            "productOfferingPrice": [{"id": monthly["id"]}, {"id": usage["id"]}]})
        api_patch(f"{TMF}/productOffering/{off['id']}", {"lifecycleStatus": "Active"})
        out[name] = off["id"]
    return out


@pytest.fixture(scope="module")
def env(lab, ctld):
    token = ctld.admin_token()

    def post(path, body):
        r = ctld.post(path, token=token, json=body)
        assert r.status_code == 201, f"POST {path}: {r.status_code} {r.text}"
        return r.json()

    def patch(path, body):
        r = ctld.patch(path, token=token, json=body,
                       headers={"Content-Type": "application/merge-patch+json"})
        assert r.status_code == 200, f"PATCH {path}: {r.status_code} {r.text}"
        return r.json()

    cucoseed.seed(ctld.url, token)
    for _try in range(5):
        if ping(lab, "cust", UP4, count=3)[0] == 3:
            break
    post("/api/v1/dataplanes", {"name": "edge", "endpoint": AGENT, "usage_endpoint": USAGE})
    post("/api/v1/pools", {"name": "lab4", "prefix": "198.51.100.0/24",
                           "exclude": ["198.51.100.0/31", "198.51.100.255/32"]})
    wait_for("dataplane synced", lambda: ctld.get("/api/v1/dataplanes", token=token)
             .json()[0]["state"] == "synced", 10)
    specs = {s["name"]: s["id"] for s in
             ctld.get(f"{TMF}/productSpecification?limit=100", token=token).json()}
    offerings = metered_offerings(post, patch, token, specs)
    party = post(IND, {"givenName": "Barbara", "familyName": "Liskov",
                       "birthDate": "1939-11-07"})
    customer = post(CUST, {"engagedParty": {"id": party["id"], "@referredType": "Individual"},
                           "status": "active",
                           "contactMedium": [{"mediumType": "email", "characteristic": {
                               "contactType": "primary",
                               "emailAddress": "barbara@example.org"}}]})
    return {"token": token, "offerings": offerings, "customer": customer}


def order(ctld, env, offering, start, action="add", service_id=None):
    product = ({"id": service_id} if service_id else
               {"productCharacteristic": [{"name": "prefixPool", "value": "lab4"}]})
    r = ctld.post(f"{TMF622}/productOrder", token=env["token"], json={
        "requestedStartDate": start.isoformat(),
        "relatedParty": [{"id": env["customer"]["id"], "role": "customer",
                          "@referredType": "Customer"}],
        "productOrderItem": [{"id": "1", "action": action, "product": product,
                              "productOffering": {"id": env["offerings"][offering]}}]})
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    o = wait_for(f"order {oid} final", lambda: (lambda o: o if o["state"] in FINAL else None)(
        ctld.get(f"{TMF622}/productOrder/{oid}", token=env["token"]).json()), 30)
    assert o["state"] == "completed", o
    return o


def dp_counters(lab, sid):
    """(boot id, bytes up + down) of @sid in the dataplane, or None."""
    p = lab.dpctl("-e", AGENT, "counters", sid, json_out=True, dpctl_timeout=5)
    if p.returncode != 0:
        return None
    c = json.loads(p.stdout)["counters"]
    h = json.loads(lab.dpctl("-e", AGENT, "hello", json_out=True, dpctl_timeout=5).stdout)
    return h["boot_id"], c["up"]["bytes"] + c["down"]["bytes"]


def usage_bytes(ctld, sid, boot=None):
    where = f"service_id = '{sid}'" + (f" AND boot_id = '{boot}'" if boot else "")
    return int(sql(ctld, "SELECT coalesce(sum(bytes_up + bytes_down), 0) FROM billing.usage "
                         f"WHERE {where}"))


def settled(lab, ctld, sid, timeout=20):
    """Wait until the usage rows of the current boot sum to its counters."""
    def check():
        boot, n = dp_counters(lab, sid) or (None, None)
        return boot is not None and usage_bytes(ctld, sid, boot) == n
    wait_for("the collector caught up with the dataplane", check, timeout)
    return usage_bytes(ctld, sid)


def send(lab, direction, n):
    """n UDP datagrams of IP_LEN bytes, up from A or down to A, each taken by
    a sink so nothing answers."""
    cust_mac = json.loads(lab.ns_run("cust", ["ip", "-j", "link", "show", "eth0"],
                                     check=True).stdout)[0]["address"]
    up_mac = json.loads(lab.ns_run("up", ["ip", "-j", "link", "show", "eth0"],
                                   check=True).stdout)[0]["address"]
    if direction == "up":
        src, dst, ns, sink_ns, mac, smac = A4, UP4, "cust", "up", lab.mac("cust0"), cust_mac
    else:
        src, dst, ns, sink_ns, mac, smac = UP4, A4, "up", "cust", lab.mac("up0"), up_mac
    frame = raw(Ether(dst=mac, src=smac) / IP(src=src, dst=dst) / UDP(sport=40001, dport=PORT)
                / Raw(b"s" * (IP_LEN - 28)))
    sink = helper(lab, sink_ns, _SINK, dst, PORT, n, 10)
    assert lab.send_frames(ns, "eth0", [frame] * n) == (n, 0)
    assert int(helper_result(sink)) == n


def test_traffic_through_a_restart_becomes_the_invoice(lab, ctld, env, nfcapd):
    token = env["token"]
    order(ctld, env, "Metered 20", CYCLE)
    sub = wait_for("the service in the fast path", lambda: [
        s for s in json.loads(lab.dpctl("-e", AGENT, "list", json_out=True,
                                        dpctl_timeout=5).stdout)["subscribers"]
        if s["match"].get("prefixes") == [f"{A4}/32"]], 5)[0]
    sid = sub["id"]
    order(ctld, env, "Metered 50", CHANGE, action="modify", service_id=sid)

    # known traffic, a restart of the dataplane between two bursts
    for ns, dst in (("cust", UP4), ("up", A4)):
        lab.ns_run(ns, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", dst], timeout=10)
    base = settled(lab, ctld, sid)
    send(lab, "up", 150)
    send(lab, "down", 120)
    lab.restart_dataplane()
    wait_for("the dataplane resynced", lambda: ctld.get("/api/v1/dataplanes", token=token)
             .json()[0]["state"] == "synced" and dp_counters(lab, sid), 20)
    for ns, dst in (("cust", UP4), ("up", A4)):
        lab.ns_run(ns, ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", dst], timeout=10)
    mid = settled(lab, ctld, sid)
    send(lab, "up", 80)
    send(lab, "down", 60)
    total = settled(lab, ctld, sid)
    # what we sent is in the rows exactly once, the pings around it too
    assert total - mid == (80 + 60) * IP_LEN
    assert mid - base >= (150 + 120) * IP_LEN

    # billing, a month ahead: this month's cycle has ended
    r = ctld.post("/api/v1/billing-runs", token=token, json={"cycleStart": CYCLE.isoformat()})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    run = wait_for("the run completed", lambda: (lambda x: x if x["state"] == "completed"
                                                 else None)(
        ctld.get(f"/api/v1/billing-runs/{rid}", token=token).json()), 60)
    assert run["failed"] == 0, run
    acct = ctld.get("/tmf-api/accountManagement/v4/billingAccount?relatedParty.id="
                    f"{env['customer']['id']}", token=token).json()[0]
    bills = ctld.get(f"{TMF678}/customerBill?billingAccount.id={acct['id']}",
                     token=token).json()
    assert len(bills) == 1, bills
    bill = bills[0]
    lines = ctld.get(f"{TMF678}/appliedCustomerBillingRate?bill.id={bill['id']}&limit=100",
                     token=token).json()
    by = {}
    for ln in lines:
        by.setdefault(ln["type"], []).append(ln)
    # usage: every byte the dataplane counted this cycle, once; at the latest price
    (use,) = by["usage"]
    qty = {c["name"]: c["value"] for c in use["characteristic"]}
    assert qty["quantity"] == total == usage_bytes(ctld, sid), (qty, total)
    assert use["taxExcludedAmount"]["x-minorUnits"] == rnd(total * PER_GB, 10 ** 9)
    # both speeds prorated to the day
    d1, d2 = (CHANGE - CYCLE).days, (CYCLE_END - CHANGE).days
    pro = sorted(ln["taxExcludedAmount"]["x-minorUnits"] for ln in by["proration"])
    assert pro == sorted([rnd(1990 * d1, DAYS), rnd(2490 * d2, DAYS)]), by["proration"]
    net = sum(pro) + use["taxExcludedAmount"]["x-minorUnits"]
    assert bill["taxExcludedAmount"]["x-minorUnits"] == net
    due = net + rnd(net * 2000, 10000)
    assert bill["amountDue"]["x-minorUnits"] == due

    # the feeds: the same bytes, the same invoice
    last = sql(ctld, "SELECT max(id) FROM billing.usage")
    wait_for("the usage feeds at the last row", lambda: sql(
        ctld, "SELECT count(*) FROM billing.feed_positions WHERE source = 'usage' AND "
        f"last_id >= {last}") == "3", 30)
    wait_for("the invoice feed", lambda: list((FEEDS / "inv").glob("*.manifest.json")), 30)
    for kind in ("ujson", "ucsv"):
        got = 0
        for m in sorted((FEEDS / kind).glob("*.manifest.json")):
            data = (FEEDS / kind / json.loads(m.read_text())["file"]).read_text()
            if kind == "ujson":
                recs = [json.loads(line) for line in data.splitlines()]
            else:
                import csv
                import io
                recs = list(csv.DictReader(io.StringIO(data)))
            got += sum(int(r["bytes_up"]) + int(r["bytes_down"]) for r in recs
                       if r["service_id"] == sid)
        assert got == total, f"{kind}: {got} bytes, the invoice {total}"
    invs = []
    for m in sorted((FEEDS / "inv").glob("*.manifest.json")):
        data = (FEEDS / "inv" / json.loads(m.read_text())["file"]).read_text()
        invs += [json.loads(line) for line in data.splitlines()]
    (inv,) = [i for i in invs if i["number"] == bill["billNo"]]
    assert (inv["total_minor"], inv["net_minor"]) == (due, net), inv
    nfcapd.send_signal(signal.SIGTERM)
    nfcapd.wait(15)
    p = subprocess.run(["nfdump", "-R", str(FEEDS / "nfcapd"), "-o", "json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    svc = ipaddress.IPv6Address(uuid.UUID(sid).bytes)
    got = sum(f["in_bytes"] for f in json.loads(p.stdout or "[]")
              if ipaddress.IPv6Address(f["src6_addr"]) == svc)
    assert got == total, f"IPFIX: {got} bytes, the invoice {total}"
