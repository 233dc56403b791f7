"""The catalog domain against the real cuco-controld and PostgreSQL: TMF620
lifecycles, the read model (eventual, caching headers, caught up after a
kill -9), search and pagination, bad input on every route, inventory
reservations under concurrency, promotions in and out of their window."""

import concurrent.futures
import threading
import time
import uuid

import pytest

import cucoctld

TMF = "/tmf-api/productCatalogManagement/v4"
PASSWORD = "correct-horse-battery-9"
CTLD_OPTIONS = {"config_extra": "rate-limit token 5000 10000\n"
                                "rate-limit address 5000 10000\n"}

PROFILE = {
    "up": {"cir": 20_000_000, "pir": 25_000_000, "cbs": 500_000, "pbs": 1_000_000},
    "down": {"cir": 100_000_000, "pir": 120_000_000, "cbs": 2_500_000, "pbs": 5_000_000,
             "yellow": "remark:10", "shape": True},
}


@pytest.fixture(scope="module")
def admin(ctld):
    return ctld.admin_token()


@pytest.fixture(scope="module")
def tokens(ctld, admin):
    out = {"admin": admin}
    for role in ("operator", "read-only", "self-care"):
        body = {"name": f"cat-{role}", "roles": [role], "password": PASSWORD}
        if role == "self-care":
            body["customer_id"] = "cust-7"
        r = ctld.post("/api/v1/users", token=admin, json=body)
        assert r.status_code == 201, r.text
        out[role] = ctld.login(f"cat-{role}", PASSWORD)["access_token"]
    return out


def is_problem(r):
    return (r.headers.get("Content-Type", "").startswith("application/problem+json")
            and r.json().get("status") == r.status_code and "code" in r.json())


def ok(r, status=200):
    assert r.status_code == status, (r.status_code, r.text)
    return r.json()


def wait_read(ctld, token, path, etag=None, timeout=15.0):
    """The read model's answer once it shows @etag (or anything)."""
    deadline = time.monotonic() + timeout
    while True:
        r = ctld.get(path, token=token)
        if r.status_code == 200 and (etag is None or r.headers.get("ETag") == etag):
            return r
        if time.monotonic() > deadline:
            pytest.fail(f"read model did not catch up on {path}: {r.status_code} "
                        f"{r.headers.get('ETag')} != {etag}: {r.text[:300]}")
        time.sleep(0.05)


def outbox_count(ctld):
    return int(cucoctld.psql(ctld.db_url, "SELECT count(*) FROM catalog.outbox"))


def make_offering(ctld, token, name, *, value=29.9, one_time=None, activate=True):
    """Profile, specification, prices and offering; Active unless told."""
    prof = ok(ctld.post("/api/v1/profiles", token=token,
                        json=dict(PROFILE, name="p-" + uuid.uuid4().hex[:12])), 201)
    spec = ok(ctld.post(f"{TMF}/productSpecification", token=token,
                        json={"name": f"{name} spec", "bandwidthProfile": {"id": prof["id"]}}), 201)
    prices = [ok(ctld.post(f"{TMF}/productOfferingPrice", token=token,
                           json={"name": f"{name} monthly", "priceType": "recurring",
                                 "recurringChargePeriodType": "month",
                                 "price": {"unit": "EUR", "value": value}}), 201)]
    if one_time is not None:
        prices.append(ok(ctld.post(f"{TMF}/productOfferingPrice", token=token,
                                   json={"name": f"{name} set-up", "priceType": "oneTime",
                                         "price": {"unit": "EUR", "value": one_time}}), 201))
    off = ok(ctld.post(f"{TMF}/productOffering", token=token,
                       json={"name": name, "productSpecification": {"id": spec["id"]},
                             "productOfferingPrice": [{"id": p["id"]} for p in prices]}), 201)
    if activate:
        ok(ctld.patch(f"{TMF}/productSpecification/{spec['id']}", token=token,
                      json={"lifecycleStatus": "Active"}))
        for p in prices:
            ok(ctld.patch(f"{TMF}/productOfferingPrice/{p['id']}", token=token,
                          json={"lifecycleStatus": "Active"}))
        off = ok(ctld.patch(f"{TMF}/productOffering/{off['id']}", token=token,
                            json={"lifecycleStatus": "Active"}))
    return {"profile": prof, "spec": spec, "prices": prices, "offering": off}


# ------------------------------------------------------------------ lifecycle
def test_offering_lifecycle_and_illegal_transitions(ctld, tokens):
    t = tokens["operator"]
    m = make_offering(ctld, t, "Lifecycle 50", activate=False)
    off = m["offering"]
    url = f"{TMF}/productOffering/{off['id']}"
    assert off["lifecycleStatus"] == "In Design" and off["x-orderable"] is False
    assert off["@type"] == "ProductOffering" and off["href"] == url
    assert off["productSpecification"]["name"] == "Lifecycle 50 spec"
    # the write side answers references; the read model embeds them (below)
    assert off["productOfferingPrice"][0]["name"] == "Lifecycle 50 monthly"
    # not Active yet: its specification is In Design
    r = ctld.patch(url, token=t, json={"lifecycleStatus": "Active"})
    assert r.status_code == 409 and is_problem(r)
    assert r.json()["code"] == "illegal-transition" and r.json()["currentState"] == "In Design"
    # In Design cannot jump to Retired
    r = ctld.patch(url, token=t, json={"lifecycleStatus": "Retired"})
    assert r.status_code == 409 and r.json()["currentState"] == "In Design"
    ok(ctld.patch(f"{TMF}/productSpecification/{m['spec']['id']}", token=t,
                  json={"lifecycleStatus": "Active"}))
    ok(ctld.patch(f"{TMF}/productOfferingPrice/{m['prices'][0]['id']}", token=t,
                  json={"lifecycleStatus": "Active"}))
    before = off["lastUpdate"]
    time.sleep(0.01)
    active = ok(ctld.patch(url, token=t, json={"lifecycleStatus": "Active"}))
    assert active["lifecycleStatus"] == "Active" and active["x-orderable"] is True
    assert active["lastUpdate"] > before
    # Active: no way back, and its content is frozen (description may change)
    r = ctld.patch(url, token=t, json={"lifecycleStatus": "In Design"})
    assert r.status_code == 409 and r.json()["currentState"] == "Active"
    r = ctld.patch(url, token=t, json={"name": "Renamed"})
    assert r.status_code == 409 and r.json()["currentState"] == "Active"
    described = ok(ctld.patch(url, token=t, json={"description": "Our best seller"},
                              headers={"Content-Type": "application/merge-patch+json"}))
    assert described["lastUpdate"] > active["lastUpdate"]
    # an Active offering cannot be deleted; its specification cannot be retired
    r = ctld.delete(url, token=t)
    assert r.status_code == 409 and r.json()["currentState"] == "Active"
    r = ctld.patch(f"{TMF}/productSpecification/{m['spec']['id']}", token=t,
                   json={"lifecycleStatus": "Retired"})
    assert r.status_code == 409 and m["offering"]["id"] in r.json()["detail"]
    retired = ok(ctld.patch(url, token=t, json={"lifecycleStatus": "Retired"}))
    assert retired["x-orderable"] is False
    r = ctld.patch(url, token=t, json={"lifecycleStatus": "Active"})
    assert r.status_code == 409 and r.json()["currentState"] == "Retired"
    # the read model ends where the write side is
    got = wait_read(ctld, tokens["self-care"], url, etag=f'"{4}-n"').json()
    assert got["lifecycleStatus"] == "Retired" and got["description"] == "Our best seller"
    assert got["productSpecification"]["bandwidthProfile"]["down"]["shape"] is True
    assert got["productOfferingPrice"][0]["price"] == {"unit": "EUR", "value": 29.9}


def test_in_design_resources_are_deleted_and_references_protect(ctld, tokens):
    t = tokens["admin"]
    m = make_offering(ctld, t, "Deletable", activate=False)
    # the profile is used by the specification: 409, nothing deleted
    r = ctld.delete(f"/api/v1/profiles/{m['profile']['id']}", token=t)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = ctld.delete(f"{TMF}/productSpecification/{m['spec']['id']}", token=t)
    assert r.status_code == 409 and m["offering"]["id"] in r.json()["detail"]
    assert ctld.delete(f"{TMF}/productOffering/{m['offering']['id']}", token=t).status_code == 204
    assert ctld.delete(f"{TMF}/productSpecification/{m['spec']['id']}", token=t).status_code == 204
    assert ctld.delete(f"/api/v1/profiles/{m['profile']['id']}", token=t).status_code == 204
    r = ctld.delete(f"/api/v1/profiles/{m['profile']['id']}", token=t)
    assert r.status_code == 404 and is_problem(r)
    # the read model forgets them too
    deadline = time.monotonic() + 10
    while ctld.get(f"{TMF}/productOffering/{m['offering']['id']}", token=t).status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_profile_fields_mirror_the_dataplane(ctld, tokens):
    t = tokens["admin"]
    p = ok(ctld.post("/api/v1/profiles", token=t, json=dict(PROFILE, name="mirror-1")), 201)
    assert p["up"] == {"mode": "rfc2698", "cir": 20_000_000, "pir": 25_000_000,
                       "cbs": 500_000, "pbs": 1_000_000, "green": "forward",
                       "yellow": "forward", "red": "drop", "shape": False}
    assert p["down"]["yellow"] == "remark:10" and p["down"]["shape"] is True
    bad = {
        "/up/pir": {"up": {"cir": 10, "pir": 5, "cbs": 1, "pbs": 1}},
        "/up/cbs": {"up": {"cir": 10, "pir": 10, "cbs": 0, "pbs": 1}},
        "/up/shape": {"up": {"cir": 10, "pir": 10, "cbs": 1, "pbs": 1, "shape": True}},
        "/down/red": {"down": {"cir": 10, "pir": 10, "cbs": 1, "pbs": 1, "red": "remark:64"}},
    }
    for field, change in bad.items():
        body = dict(PROFILE, name="bad-" + field.replace("/", "-"), **change)
        r = ctld.post("/api/v1/profiles", token=t, json=body)
        assert r.status_code in (400, 422) and is_problem(r), r.text
        assert r.json()["field"] == field, (field, r.json())
    r = ctld.post("/api/v1/profiles", token=t, json=dict(PROFILE, name="mirror-1"))
    assert r.status_code == 409 and r.json()["field"] == "/name"


# ---------------------------------------------------------- reads and caching
def test_reads_carry_caching_headers_and_304(ctld, tokens):
    t = tokens["read-only"]
    m = make_offering(ctld, tokens["operator"], "Cached 200")
    url = f"{TMF}/productOffering/{m['offering']['id']}"
    r = wait_read(ctld, t, url, etag='"2-o"')
    assert "max-age=" in r.headers["Cache-Control"]
    assert r.headers["Last-Modified"].endswith(" GMT")
    doc = r.json()
    # denormalised: specification, profile, prices in the one document
    assert doc["productSpecification"]["bandwidthProfile"]["name"] == m["profile"]["name"]
    assert doc["productOfferingPrice"][0]["x-minorUnits"] == 2990
    r304 = ctld.get(url, token=t, headers={"If-None-Match": r.headers["ETag"]})
    assert r304.status_code == 304 and not r304.content
    assert r304.headers["ETag"] == r.headers["ETag"] and "Cache-Control" in r304.headers
    r304 = ctld.get(url, token=t, headers={"If-Modified-Since": r.headers["Last-Modified"]})
    assert r304.status_code == 304
    assert ctld.get(url, token=t, headers={"If-Modified-Since":
                                           "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    lst = ctld.get(f"{TMF}/productOffering?name=Cached%20200", token=t)
    assert lst.status_code == 200 and "max-age=" in lst.headers["Cache-Control"]
    assert ctld.get(f"{TMF}/productOffering?name=Cached%20200", token=t,
                    headers={"If-None-Match": lst.headers["ETag"]}).status_code == 304
    # a stale If-Match on a write is 412, nothing written
    before = outbox_count(ctld)
    r = ctld.patch(url, token=tokens["operator"], json={"description": "x"},
                   headers={"If-Match": '"1-n"'})
    assert r.status_code == 412 and r.json()["code"] == "stale-version"
    assert outbox_count(ctld) == before
    r = ctld.patch(url, token=tokens["operator"], json={"description": "y"},
                   headers={"If-Match": r.json().get("currentEtag", '"2-o"')})
    assert r.status_code == 200 and r.headers["ETag"] == '"3-o"'


def test_everyone_reads_staff_manage(ctld, tokens):
    for role in ("self-care", "read-only"):
        assert ctld.get(f"{TMF}/productOffering", token=tokens[role]).status_code == 200
        assert ctld.get("/api/v1/inventory", token=tokens[role]).status_code == 200
        r = ctld.post(f"{TMF}/category", token=tokens[role], json={"name": "nope"})
        assert r.status_code == 403 and is_problem(r)
    assert ctld.get(f"{TMF}/productOffering").status_code == 401


# --------------------------------------------------- search, pages, fields=
def test_search_pagination_and_fields(ctld, tokens):
    t = tokens["admin"]
    cat = ok(ctld.post(f"{TMF}/category", token=t, json={"name": "Search"}), 201)
    ids = []
    for i in range(12):
        m = make_offering(ctld, t, f"Search {i:02d}", activate=(i % 3 == 0))
        ok(ctld.patch(f"{TMF}/productOffering/{m['offering']['id']}", token=t,
                      json={"description": "findable"}))
        ids.append(m["offering"]["id"])
    r = ctld.patch(f"{TMF}/productOffering/{ids[1]}", token=t,
                   json={"category": [{"id": cat["id"]}]})
    assert ok(r)["category"][0]["name"] == "Search"
    # wait for the read model, then page through In Design ones
    wait_read(ctld, t, f"{TMF}/productOffering/{ids[1]}", etag=f'"3-n"')
    for i in (0, 11):
        wait_read(ctld, t, f"{TMF}/productOffering/{ids[i]}")
    time.sleep(0.5)
    q = f"{TMF}/productOffering?lifecycleStatus=In%20Design&description=x"
    r = ctld.get(q, token=t)
    assert r.status_code == 400 and r.json()["code"] == "unknown-filter"
    r = ctld.get(f"{TMF}/productOffering?lifecycleStatus=Active&limit=2&offset=1&fields=name",
                 token=t)
    assert r.status_code == 200
    assert int(r.headers["X-Total-Count"]) >= 4 and int(r.headers["X-Result-Count"]) == 2
    assert 'rel="next"' in r.headers["Link"] and 'rel="prev"' in r.headers["Link"]
    for o in r.json():
        assert set(o) <= {"id", "href", "@type", "name"}
    names = [o["name"] for o in ctld.get(
        f"{TMF}/productOffering?lifecycleStatus=Active&limit=1000", token=t).json()]
    assert names == sorted(names)
    assert {f"Search {i:02d}" for i in (0, 3, 6, 9)} <= set(names)
    assert not {f"Search {i:02d}" for i in (1, 2, 4)} & set(names)
    r = ctld.get(f"{TMF}/productOffering?name=Search%2005", token=t)
    assert [o["id"] for o in r.json()] == [ids[5]]
    r = ctld.get(f"{TMF}/productOffering?category.id={cat['id']}", token=t)
    assert [o["id"] for o in r.json()] == [ids[1]]
    r = ctld.get(f"{TMF}/productOffering?isBundle=maybe", token=t)
    assert r.status_code == 400 and r.json()["field"] == "isBundle"
    r = ctld.get(f"{TMF}/productOffering?lifecycleStatus=Active&offset=100000", token=t)
    assert r.status_code == 200 and r.json() == [] and int(r.headers["X-Total-Count"]) >= 4


# ------------------------------------------------------------- bad input
def test_bad_input_names_the_field_and_writes_nothing(ctld, tokens):
    t = tokens["admin"]
    m = make_offering(ctld, t, "Bad input", activate=False)
    off_url = f"{TMF}/productOffering/{m['offering']['id']}"
    item = ok(ctld.post("/api/v1/inventory", token=t,
                        json={"name": "Bad CPE", "kind": "cpe", "sku": "BAD-1", "quantity": 5}),
              201)
    ghost = str(uuid.uuid4())
    cases = [
        ("POST", f"{TMF}/catalog", {"name": ""}, "/name"),
        ("POST", f"{TMF}/catalog", {"name": "c", "category": [{"id": ghost}]}, "/category/0"),
        ("POST", f"{TMF}/category", {"name": "c", "parentId": "not-a-uuid"}, "/parentId"),
        ("POST", f"{TMF}/category", {"name": "c", "lifecycleStatus": "Active"},
         "/lifecycleStatus"),
        ("POST", f"{TMF}/productSpecification",
         {"name": "s", "bandwidthProfile": {"id": m["spec"]["id"]}}, "/bandwidthProfile"),
        ("POST", f"{TMF}/productSpecification",
         {"name": "s", "validFor": {"startDateTime": "2027-02-01T00:00:00Z",
                                    "endDateTime": "2027-01-01T00:00:00Z"}},
         "/validFor/endDateTime"),
        ("POST", f"{TMF}/productOffering",
         {"name": "o", "productSpecification": {"id": ghost}}, "/productSpecification"),
        ("POST", f"{TMF}/productOffering",
         {"name": "o", "productOfferingPrice": [{"id": m["spec"]["id"]}]},
         "/productOfferingPrice/0"),
        ("POST", f"{TMF}/productOfferingPrice",
         {"name": "p", "priceType": "recurring", "price": {"unit": "EUR", "value": 1.005}},
         "/price/value"),
        ("POST", f"{TMF}/productOfferingPrice",
         {"name": "p", "priceType": "recurring", "price": {"unit": "eur", "value": 1}},
         "/price/unit"),
        ("POST", f"{TMF}/productOfferingPrice",
         {"name": "p", "priceType": "oneTime", "recurringChargePeriodType": "month",
          "price": {"unit": "EUR", "value": 1}}, "/recurringChargePeriodType"),
        ("POST", f"{TMF}/productOfferingPrice",
         {"name": "p", "priceType": "recurring", "price": {"unit": "JPY", "value": 1.5}},
         "/price/value"),
        ("PATCH", off_url, {"lifecycleStatus": "Launched"}, "/lifecycleStatus"),
        ("PATCH", off_url, {"productSpecification": {"id": ghost}}, "/productSpecification"),
        ("PATCH", off_url, {"name": None}, "/name"),
        ("POST", "/api/v1/profiles", dict(PROFILE, name="has space"), "/name"),
        ("PATCH", f"/api/v1/profiles/{m['profile']['id']}",
         {"down": {"cir": 5, "pir": 4, "cbs": 1, "pbs": 1}}, "/down/pir"),
        ("POST", "/api/v1/promotions",
         {"name": "p", "kind": "percentage", "percentage": 101, "duration_months": 1,
          "valid_from": "2027-01-01T00:00:00Z", "offering_ids": [m["offering"]["id"]]},
         "/percentage"),
        ("POST", "/api/v1/promotions",
         {"name": "p", "kind": "amount", "amount_minor": 100, "duration_months": 1,
          "valid_from": "2027-01-01T00:00:00Z", "offering_ids": [m["offering"]["id"]]},
         "/currency"),
        ("POST", "/api/v1/promotions",
         {"name": "p", "kind": "percentage", "percentage": 10, "duration_months": 1,
          "valid_from": "2027-01-01T00:00:00Z", "valid_to": "2026-01-01T00:00:00Z",
          "offering_ids": [m["offering"]["id"]]}, "/valid_to"),
        ("POST", "/api/v1/promotions",
         {"name": "p", "kind": "percentage", "percentage": 10, "duration_months": 1,
          "valid_from": "2027-01-01T00:00:00Z", "offering_ids": [ghost]}, "/offering_ids/0"),
        ("POST", "/api/v1/inventory", {"name": "x", "kind": "router", "sku": "X", "quantity": 1},
         "/kind"),
        ("POST", "/api/v1/inventory", {"name": "x", "kind": "cpe", "sku": "BAD-1",
                                       "quantity": 1}, "/sku"),
        ("PATCH", f"/api/v1/inventory/{item['id']}", {"quantity": -1}, "/quantity"),
        ("POST", f"/api/v1/inventory/{item['id']}/reservations",
         {"reservation_id": "a b", "quantity": 1}, "/reservation_id"),
        ("POST", f"/api/v1/inventory/{item['id']}/reservations",
         {"reservation_id": "r-big", "quantity": 6}, "/quantity"),
    ]
    before = outbox_count(ctld)
    for method, url, body, field in cases:
        r = ctld.request(method, url, token=t, json=body)
        assert 400 <= r.status_code < 500 and is_problem(r), (method, url, body, r.text)
        assert r.json().get("field") == field, (method, url, body, r.json())
    r = ctld.get(f"/api/v1/offerings/{m['offering']['id']}/price?at=tomorrow", token=t)
    assert r.status_code == 400 and r.json()["field"] == "at"
    r = ctld.get(f"/api/v1/offerings/{m['offering']['id']}/price?month=0", token=t)
    assert r.status_code == 400 and r.json()["field"] == "month"
    assert outbox_count(ctld) == before, "a refused request wrote an event"
    assert ok(ctld.get(f"/api/v1/inventory/{item['id']}", token=t))["reserved"] == 0


# ------------------------------------------------------------- inventory
def test_50_concurrent_reservations_of_the_last_10(ctld, tokens):
    t = tokens["operator"]
    item = ok(ctld.post("/api/v1/inventory", token=t,
                        json={"name": "CPE Fritz 7590", "kind": "cpe", "sku": "FRITZ-7590",
                              "quantity": 25}), 201)
    url = f"/api/v1/inventory/{item['id']}"
    # 15 already gone: the last 10 are left
    ok(ctld.post(f"{url}/reservations", token=t,
                 json={"reservation_id": "order-early", "quantity": 15}), 201)
    assert ok(ctld.get(url, token=t))["available"] == 10
    barrier = threading.Barrier(50)

    def reserve(i):
        barrier.wait()
        return ctld.post(f"{url}/reservations", token=t,
                         json={"reservation_id": f"order-{i}", "quantity": 1})
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(reserve, range(50)))
    won = [r for r in answers if r.status_code == 201]
    lost = [r for r in answers if r.status_code == 409]
    assert len(won) == 10 and len(lost) == 40, [(r.status_code, r.text) for r in answers
                                                if r.status_code not in (201, 409)]
    assert all(r.json()["code"] == "insufficient-stock" for r in lost)
    now = ok(ctld.get(url, token=t))
    assert (now["quantity"], now["reserved"], now["available"]) == (25, 25, 0)
    # exactly 10 + 1 reservations are held, in the table too
    held = cucoctld.psql(ctld.db_url, "SELECT count(*), sum(quantity) FROM "
                         f"catalog.reservations WHERE item_id = '{item['id']}' "
                         "AND state = 'reserved'")
    assert held == "11|25"


def test_reserve_release_commit_are_idempotent(ctld, tokens):
    t = tokens["admin"]
    item = ok(ctld.post("/api/v1/inventory", token=t,
                        json={"name": "10G port", "kind": "port-capacity", "sku": "PORT-10G",
                              "quantity": 4}), 201)
    url = f"/api/v1/inventory/{item['id']}"
    body = {"reservation_id": "ord-1", "quantity": 3}
    first = ctld.post(f"{url}/reservations", token=t, json=body)
    assert first.status_code == 201 and first.headers["Location"].endswith("/ord-1")
    again = ctld.post(f"{url}/reservations", token=t, json=body)
    assert again.status_code == 200 and again.json() == first.json()
    r = ctld.post(f"{url}/reservations", token=t, json={"reservation_id": "ord-1", "quantity": 2})
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert ok(ctld.get(url, token=t))["available"] == 1
    # release twice: the units come back once
    assert ok(ctld.post(f"{url}/reservations/ord-1/release", token=t))["state"] == "released"
    assert ok(ctld.post(f"{url}/reservations/ord-1/release", token=t))["state"] == "released"
    assert ok(ctld.get(url, token=t))["available"] == 4
    r = ctld.post(f"{url}/reservations/ord-1/commit", token=t)
    assert r.status_code == 409 and r.json()["currentState"] == "released"
    # commit twice: the units leave the stock once
    ok(ctld.post(f"{url}/reservations", token=t, json={"reservation_id": "ord-2", "quantity": 2}),
       201)
    assert ok(ctld.post(f"{url}/reservations/ord-2/commit", token=t))["state"] == "committed"
    assert ok(ctld.post(f"{url}/reservations/ord-2/commit", token=t))["state"] == "committed"
    now = ok(ctld.get(url, token=t))
    assert (now["quantity"], now["reserved"], now["available"]) == (2, 0, 2)
    r = ctld.post(f"{url}/reservations/ord-2/release", token=t)
    assert r.status_code == 409 and r.json()["currentState"] == "committed"
    assert ctld.post(f"{url}/reservations/nope/release", token=t).status_code == 404
    # restock, and never below what is reserved
    ok(ctld.post(f"{url}/reservations", token=t, json={"reservation_id": "ord-3", "quantity": 2}),
       201)
    r = ctld.patch(url, token=t, json={"quantity": 1})
    assert r.status_code == 409 and r.json()["code"] == "insufficient-stock"
    assert ok(ctld.patch(url, token=t, json={"quantity": 10}))["available"] == 8
    r = ctld.delete(url, token=t)
    assert r.status_code == 409
    types = cucoctld.psql(ctld.db_url, "SELECT string_agg(type, ',' ORDER BY seq) FROM "
                          f"catalog.outbox WHERE aggregate_id = '{item['id']}'")
    assert types.split(",") == ["catalog.inventory.created", "catalog.inventory.reserved",
                                "catalog.inventory.released", "catalog.inventory.reserved",
                                "catalog.inventory.committed", "catalog.inventory.reserved",
                                "catalog.inventory.restocked"]


# ------------------------------------------------------------- promotions
def test_promotions_apply_only_in_their_window(ctld, tokens):
    t = tokens["operator"]
    m = make_offering(ctld, t, "Promo 300", value=40, one_time=49.99)
    oid = m["offering"]["id"]
    ok(ctld.post("/api/v1/promotions", token=t, json={
        "name": "January 25%", "kind": "percentage", "percentage": 25, "duration_months": 3,
        "valid_from": "2027-01-01T00:00:00Z", "valid_to": "2027-02-01T00:00:00Z",
        "offering_ids": [oid]}), 201)
    promo2 = ok(ctld.post("/api/v1/promotions", token=t, json={
        "name": "Spring 5 EUR", "kind": "amount", "amount_minor": 500, "currency": "EUR",
        "duration_months": 6, "valid_from": "2027-01-15T00:00:00Z",
        "valid_to": "2027-04-01T00:00:00Z", "offering_ids": [oid]}), 201)
    # the read model shows both promotions in the offering's document
    deadline = time.monotonic() + 15
    while len(ctld.get(f"{TMF}/productOffering/{oid}", token=t).json()
              .get("x-promotions", [])) != 2:
        assert time.monotonic() < deadline, "promotions not in the read model"
        time.sleep(0.05)

    def price(at, month):
        return ok(ctld.get(f"/api/v1/offerings/{oid}/price?at={at}&month={month}",
                           token=tokens["self-care"]))
    p = price("2026-12-31T23:59:59Z", 1)  # before any window
    assert (p["discount_minor"], p["one_time_minor"], p["total_minor"]) == (0, 4999, 8999)
    p = price("2027-01-10", 1)  # 25% off 40.00, set-up fee in month 1
    assert (p["discount_minor"], p["total_minor"]) == (1000, 3000 + 4999)
    assert p["total"] == {"unit": "EUR", "value": 79.99}
    assert price("2027-01-10", 3)["total_minor"] == 3000
    assert price("2027-01-10", 4)["total_minor"] == 4000  # the duration is over
    p = price("2027-01-20", 2)  # both apply: the better one wins, they do not stack
    assert p["discount_minor"] == 1000 and p["promotion"]["name"] == "January 25%"
    p = price("2027-02-01", 2)  # January's window is closed (end excluded)
    assert p["discount_minor"] == 500 and p["promotion"]["id"] == promo2["id"]
    assert price("2027-04-01", 1)["discount_minor"] == 0
    # a promotion changed: the read model follows
    ok(ctld.patch(f"/api/v1/promotions/{promo2['id']}", token=t, json={"amount_minor": 1500}))
    deadline = time.monotonic() + 15
    while price("2027-02-01", 2)["discount_minor"] != 1500:
        assert time.monotonic() < deadline
        time.sleep(0.05)


# ------------------------------------------------ read model after kill -9
def test_read_model_caught_up_after_kill9_during_writes(ctld, tokens):
    t = tokens["admin"]
    written = {}  # id -> last ETag the write side answered
    lock = threading.Lock()
    stop = threading.Event()

    def writer(n):
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = ctld.post(f"{TMF}/category", token=t, json={"name": f"K{n}-{i}"}, timeout=5)
                if r.status_code != 201:
                    continue
                cid = r.json()["id"]
                with lock:
                    written[cid] = r.headers["ETag"]
                r = ctld.patch(f"{TMF}/category/{cid}", token=t,
                               json={"description": f"rev {i}"}, timeout=5)
                if r.status_code == 200:
                    with lock:
                        written[cid] = r.headers["ETag"]
            except Exception:  # controld is down for a moment: keep trying
                time.sleep(0.05)
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    try:
        time.sleep(1.0)
        ctld.kill9()
        time.sleep(0.3)
        ctld.start_controld()
        time.sleep(1.0)
    finally:
        stop.set()
        for th in threads:
            th.join(30)
    assert len(written) > 10
    # the write side is the truth: every row, at its revision
    rows = cucoctld.psql(ctld.db_url, "SELECT id, revision FROM catalog.resources "
                         "WHERE kind = 'category' AND name LIKE 'K%'").splitlines()
    truth = dict(line.split("|") for line in rows)
    assert set(written) <= set(truth)
    for cid, rev in truth.items():
        wait_read(ctld, t, f"{TMF}/category/{cid}", etag=f'"{rev}"', timeout=30)
    lag = [line for line in ctld.get("/metrics").text.splitlines()
           if line.startswith('cuco_consumer_lag{consumer="readmodel"')]
    assert lag and lag[0].endswith(" 0"), lag
