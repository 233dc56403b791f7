"""The customer domain against the real cuco-controld and a real PostgreSQL
cluster: TMF629 customers and TMF632 parties, the lifecycle, search and
pagination, bad input, consents, preferences, loyalty (also concurrent),
field visibility by role, self-care, the GDPR export and erasure, and every
change's event in the outbox and the change journal."""

import concurrent.futures
import itertools
import json
import time
import uuid

import pytest

import cucoctld

PASSWORD = "correct-horse-battery-9"
ROLES = ("admin", "operator", "support", "billing", "read-only", "self-care")
CTLD_OPTIONS = {"config_extra": "rate-limit token 1000 2000\nrate-limit address 1000 2000\n"}
CUST = "/tmf-api/customerManagement/v4/customer"
IND = "/tmf-api/party/v4/individual"
ORG = "/tmf-api/party/v4/organization"
API = "/api/v1/customers"
MERGE = {"Content-Type": "application/merge-patch+json"}

_n = itertools.count(1)


def uniq():
    return f"{next(_n)}x{uuid.uuid4().hex[:6]}"


def is_problem(r):
    return (r.headers.get("Content-Type", "").startswith("application/problem+json")
            and "code" in r.json() and r.json().get("status") == r.status_code)


def sql(ctld, query):
    return cucoctld.psql(ctld.db_url, query)


def outbox_count(ctld):
    return int(sql(ctld, "SELECT count(*) FROM customer.outbox"))


def table_counts(ctld):
    return sql(ctld, "SELECT (SELECT count(*) FROM customer.customers),"
                     " (SELECT count(*) FROM customer.parties),"
                     " (SELECT count(*) FROM customer.consents),"
                     " (SELECT count(*) FROM customer.loyalty_transactions),"
                     " (SELECT count(*) FROM customer.outbox)")


def events_of(ctld, aggregate_id):
    out = sql(ctld, "SELECT type || ' ' || aggregate_version FROM customer.outbox"
                    f" WHERE aggregate_id = '{aggregate_id}' ORDER BY seq")
    return out.splitlines()


def email(addr, contact_type=None):
    ch = {"emailAddress": addr}
    if contact_type:
        ch["contactType"] = contact_type
    return {"mediumType": "email", "characteristic": ch}


def phone(number, contact_type=None):
    ch = {"phoneNumber": number}
    if contact_type:
        ch["contactType"] = contact_type
    return {"mediumType": "mobile", "characteristic": ch}


def address(street, contact_type="billing"):
    return {"mediumType": "postalAddress",
            "characteristic": {"contactType": contact_type, "street1": street,
                               "city": "Zurich", "postCode": "8001", "country": "CH"}}


def new_individual(ctld, token, given, family, **extra):
    body = {"givenName": given, "familyName": family, "birthDate": "1985-12-10",
            "gender": "female", "nationality": "GB"}
    body.update(extra)
    r = ctld.post(IND, token=token, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def register(ctld, token, given=None, family=None, *, mail=None, mobile=None, status=None,
             street=None, billing_mail=None, birth="1985-12-10"):
    given = given or f"Ada{uniq()}"
    family = family or "Lovelace"
    party = new_individual(ctld, token, given, family, birthDate=birth,
                           contactMedium=[email(f"home-{uniq()}@example.org", "home")])
    media = [email(mail or f"{given.lower()}@example.com", "primary"),
             phone(mobile or f"+4179{int(time.time() * 1000) % 10000000:07d}"),
             address(street or f"Bahnhofstrasse {uniq()}"),
             email(billing_mail or f"bill-{given.lower()}@example.com", "billing")]
    body = {"engagedParty": {"id": party["id"], "@referredType": "Individual"},
            "contactMedium": media,
            "account": [{"id": f"BA-{uniq()}", "@referredType": "BillingAccount"}]}
    if status:
        body["status"] = status
    r = ctld.post(CUST, token=token, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def patch(ctld, path, token, body, **kw):
    h = dict(MERGE)
    h.update(kw.pop("headers", {}))
    return ctld.patch(path, token=token, json=body, headers=h, **kw)


@pytest.fixture(scope="module")
def admin(ctld):
    return ctld.admin_token()


@pytest.fixture(scope="module")
def own(ctld, admin):
    """The customer the self-care user is bound to."""
    return register(ctld, admin, given=f"Self{uniq()}", status="active")


@pytest.fixture(scope="module")
def tokens(ctld, admin, own):
    out = {"admin": admin}
    for role in ROLES[1:]:
        body = {"name": f"cust-{role}", "roles": [role], "password": PASSWORD}
        if role == "self-care":
            body["customer_id"] = own["id"]
        r = ctld.post("/api/v1/users", token=admin, json=body)
        assert r.status_code == 201, r.text
        out[role] = ctld.login(f"cust-{role}", PASSWORD)["access_token"]
    return out


# ------------------------------------------------------------- registration
def test_registration_is_tmf(ctld, admin):
    c = register(ctld, admin, given="Grace", family=f"Hopper{uniq()}")
    assert c["@type"] == "Customer" and c["@baseType"] == "PartyRole"
    assert c["href"] == f"{CUST}/{c['id']}"
    assert c["status"] == "prospect"
    assert c["name"].startswith("Grace Hopper")
    assert c["customerNumber"].startswith("C") and len(c["customerNumber"]) == 10
    ep = c["engagedParty"]
    assert ep["@referredType"] == "Individual" and ep["href"] == f"{IND}/{ep['id']}"
    assert {m["mediumType"] for m in c["contactMedium"]} == {"email", "mobile", "postalAddress"}
    r = ctld.get(c["href"], token=admin)
    assert r.status_code == 200 and r.json() == c
    assert r.headers["ETag"] == '"1"'
    p = ctld.get(ep["href"], token=admin).json()
    assert p["@type"] == "Individual" and p["fullName"] == c["name"]
    assert p["birthDate"] == "1985-12-10"
    # the same party cannot be a customer twice
    r = ctld.post(CUST, token=admin, json={"engagedParty": {"id": ep["id"]}})
    assert r.status_code == 409 and r.json()["field"] == "/engagedParty/id"
    # an organization
    r = ctld.post(ORG, token=admin, json={"name": "Acme AG", "tradingName": "Acme",
                                          "organizationType": "company", "isLegalEntity": True})
    assert r.status_code == 201, r.text
    org = r.json()
    assert org["@type"] == "Organization" and r.headers["Location"] == org["href"]
    r = ctld.post(CUST, token=admin, json={"engagedParty": {"id": org["id"],
                                                            "@referredType": "Organization"},
                                           "status": "active"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Acme AG" and r.json()["status"] == "active"
    # the wrong referred type
    other = new_individual(ctld, admin, "Wrong", "Type")
    r = ctld.post(CUST, token=admin, json={"engagedParty": {"id": other["id"],
                                                            "@referredType": "Organization"}})
    assert r.status_code == 400 and r.json()["field"] == "/engagedParty/@referredType"
    assert events_of(ctld, c["id"]) == ["customer.customer.registered 1"]


# ---------------------------------------------------------------- lifecycle
def test_full_lifecycle_and_illegal_transitions(ctld, admin):
    c = register(ctld, admin)
    href = c["href"]
    # prospect -> suspended is not allowed
    r = patch(ctld, href, admin, {"status": "suspended"})
    assert r.status_code == 409 and is_problem(r)
    assert r.json()["code"] == "illegal-transition"
    assert r.json()["currentState"] == "prospect"
    for st in ("active", "suspended", "active", "closed"):
        r = patch(ctld, href, admin, {"status": st, "statusReason": f"now {st}"})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == st
    for st in ("active", "suspended", "prospect"):
        r = patch(ctld, href, admin, {"status": st})
        assert r.status_code == 409 and r.json()["currentState"] == "closed", r.text
    assert ctld.get(href, token=admin).json()["status"] == "closed"
    ev = events_of(ctld, c["id"])
    # each step: the reason (updated) then the state change, versions one by one
    assert ev[0] == "customer.customer.registered 1"
    assert [e.split()[0] for e in ev].count("customer.customer.state_changed") == 4
    assert [int(e.split()[1]) for e in ev] == list(range(1, len(ev) + 1))
    history = ctld.get(f"{API}/{c['id']}/export", token=admin).json()["state_history"]
    assert [(h.get("from"), h["to"]) for h in history] == [
        (None, "prospect"), ("prospect", "active"), ("active", "suspended"),
        ("suspended", "active"), ("active", "closed")]
    payload = json.loads(sql(ctld, "SELECT payload FROM customer.outbox WHERE aggregate_id = "
                                   f"'{c['id']}' AND type = 'customer.customer.state_changed'"
                                   " ORDER BY seq DESC LIMIT 1"))
    assert payload == {"id": c["id"], "customerNumber": c["customerNumber"],
                       "from": "active", "to": "closed"}


def test_if_match_and_etags(ctld, admin):
    c = register(ctld, admin)
    r = ctld.get(c["href"], token=admin)
    etag = r.headers["ETag"]
    assert ctld.get(c["href"], token=admin,
                    headers={"If-None-Match": etag}).status_code == 304
    r = patch(ctld, c["href"], admin, {"name": "Renamed One"}, headers={"If-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    r = patch(ctld, c["href"], admin, {"name": "Renamed Two"}, headers={"If-Match": etag})
    assert r.status_code == 412 and r.json()["code"] == "stale-version"
    assert ctld.get(c["href"], token=admin).json()["name"] == "Renamed One"
    # a patch that changes nothing writes nothing
    before = outbox_count(ctld)
    r = patch(ctld, c["href"], admin, {"name": "Renamed One"})
    assert r.status_code == 200 and r.headers["ETag"] == '"2"'
    assert outbox_count(ctld) == before


# ------------------------------------------------------------------ search
def test_search_and_pagination(ctld, admin):
    tag = uniq()
    made = [register(ctld, admin, given=f"Zed{k}", family=f"Searchable{tag}",
                     mail=f"s{k}-{tag}@Example.com", mobile=f"+41790{k}{int(tag[0])}7654")
            for k in range(5)]
    made[0] = patch(ctld, made[0]["href"], admin, {"status": "active"}).json()
    r = ctld.get(f"{CUST}?name=searchable{tag.upper()}&limit=2", token=admin)
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "5" and r.headers["X-Result-Count"] == "2"
    assert 'rel="next"' in r.headers["Link"] and 'rel="last"' in r.headers["Link"]
    first = [c["id"] for c in r.json()]
    r = ctld.get(f"{CUST}?name=searchable{tag}&limit=2&offset=2", token=admin)
    assert [c["id"] for c in r.json()] == [c["id"] for c in made[2:4]]
    assert first == [c["id"] for c in made[:2]]
    r = ctld.get(f"{CUST}?name=searchable{tag}&offset=10", token=admin)
    assert r.json() == [] and r.headers["X-Total-Count"] == "5"
    # partial, any case, also an infix; % is no wildcard
    assert len(ctld.get(f"{CUST}?name=EARCHABLE{tag}", token=admin).json()) == 5
    assert ctld.get(f"{CUST}?name=Searchable%25{tag}", token=admin).json() == []
    r = ctld.get(f"{CUST}?email=S3-{tag}@example.COM", token=admin)
    assert [c["id"] for c in r.json()] == [made[3]["id"]]
    mobile = made[4]["contactMedium"][1]["characteristic"]["phoneNumber"]
    r = ctld.get(f"{CUST}?phone=%2B{mobile[1:]}", token=admin)
    assert [c["id"] for c in r.json()] == [made[4]["id"]]
    r = ctld.get(f"{CUST}?name=searchable{tag}&status=active", token=admin)
    assert [c["id"] for c in r.json()] == [made[0]["id"]]
    r = ctld.get(f"{CUST}?customerNumber={made[2]['customerNumber']}", token=admin)
    assert [c["id"] for c in r.json()] == [made[2]["id"]]
    r = ctld.get(f"{CUST}?name=searchable{tag}&fields=name,status", token=admin)
    for c in r.json():
        assert set(c) <= {"id", "href", "@type", "name", "status"}
    r = ctld.get(f"{CUST}/{made[1]['id']}?fields=status", token=admin)
    assert set(r.json()) == {"id", "href", "@type", "status"}
    # bad filters
    r = ctld.get(f"{CUST}?colour=blue", token=admin)
    assert r.status_code == 400 and r.json()["code"] == "unknown-filter"
    r = ctld.get(f"{CUST}?status=sleeping", token=admin)
    assert r.status_code == 400 and r.json()["field"] == "status"
    r = ctld.get(f"{CUST}?phone=0791234567", token=admin)
    assert r.status_code == 400 and r.json()["field"] == "phone"
    # parties by name
    r = ctld.get(f"{IND}?name=searchable{tag}", token=admin)
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "5"


# --------------------------------------------------------------- bad input
def test_bad_input_names_the_field_and_writes_nothing(ctld, admin):
    c = register(ctld, admin, status="active")
    cid = c["id"]
    party = new_individual(ctld, admin, "Free", "Party")
    ok_party = {"id": party["id"]}
    cases = [
        ("POST", IND, {"givenName": "A"}, "/familyName"),
        ("POST", IND, {"givenName": "A", "familyName": "B", "birthDate": "2999-01-01"},
         "/birthDate"),
        ("POST", IND, {"givenName": "A", "familyName": "B", "birthDate": "1990-02-30"},
         "/birthDate"),
        ("POST", IND, {"givenName": "A", "familyName": "B", "nationality": "gb"},
         "/nationality"),
        ("POST", IND, {"givenName": "A", "familyName": "B", "shoeSize": 44}, None),
        ("POST", IND, {"givenName": "A\u0007", "familyName": "B"}, "/givenName"),
        ("POST", ORG, {"tradingName": "X"}, "/name"),
        ("POST", CUST, {}, "/engagedParty"),
        ("POST", CUST, {"engagedParty": {"id": str(uuid.uuid4())}}, "/engagedParty/id"),
        ("POST", CUST, {"engagedParty": ok_party, "status": "closed"}, "/status"),
        ("POST", CUST, {"engagedParty": ok_party, "@type": "VipCustomer"}, "/@type"),
        ("POST", CUST, {"engagedParty": ok_party,
                        "contactMedium": [email("not-an-address")]},
         "/contactMedium/0/characteristic/emailAddress"),
        ("POST", CUST, {"engagedParty": ok_party,
                        "contactMedium": [email("a@b.ch"), phone("+0041791234567")]},
         "/contactMedium/1/characteristic/phoneNumber"),
        ("POST", CUST, {"engagedParty": ok_party,
                        "contactMedium": [{"mediumType": "postalAddress",
                                           "characteristic": {"street1": "X", "country": "CH"}}]},
         "/contactMedium/0/characteristic/city"),
        ("POST", CUST, {"engagedParty": ok_party,
                        "contactMedium": [{"mediumType": "email",
                                           "characteristic": {"phoneNumber": "+41791234567"}}]},
         "/contactMedium/0/characteristic/phoneNumber"),
        ("POST", CUST, {"engagedParty": ok_party,
                        "characteristic": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]},
         "/characteristic/1/name"),
        ("POST", CUST, {"engagedParty": ok_party,
                        "validFor": {"startDateTime": "2025-02-01T00:00:00Z",
                                     "endDateTime": "2025-01-01T00:00:00Z"}},
         "/validFor/endDateTime"),
        ("PATCH", c["href"], {"name": None}, "/name"),
        ("PATCH", c["href"], {"status": "dormant"}, "/status"),
        ("PATCH", c["href"], {"engagedParty": ok_party}, None),
        ("PATCH", c["href"], {}, None),
        ("POST", f"{API}/{cid}/consents", {"channel": "pigeon", "purpose": "marketing",
                                          "state": "given"}, "/channel"),
        ("POST", f"{API}/{cid}/consents", {"channel": "email", "purpose": "marketing",
                                          "state": "given", "at": "2999-01-01T00:00:00Z"},
         "/at"),
        ("POST", f"{API}/{cid}/consents", {"channel": "email", "purpose": "marketing"},
         "/state"),
        ("PUT", f"{API}/{cid}/communication-preferences",
         {"preferred_channel": "sms", "channels": {"sms": False}}, "/preferred_channel"),
        ("PUT", f"{API}/{cid}/communication-preferences", {"language": "english"},
         "/language"),
        ("PUT", f"{API}/{cid}/communication-preferences", {"channels": {"fax": True}},
         "/channels/fax"),
        ("POST", f"{API}/{cid}/loyalty", {"kind": "earn", "points": 0, "reference": "r"},
         "/points"),
        ("POST", f"{API}/{cid}/loyalty", {"kind": "steal", "points": 5, "reference": "r"},
         "/kind"),
        ("POST", f"{API}/{cid}/loyalty", {"kind": "earn", "points": 5}, "/reference"),
    ]
    before = table_counts(ctld)
    for method, path, body, field in cases:
        r = ctld.request(method, path, token=admin, json=body,
                         headers=MERGE if method == "PATCH" else None)
        assert r.status_code in (400, 422) and is_problem(r), (method, path, body, r.text)
        if field is not None:
            assert r.json().get("field") == field, (method, path, body, r.json())
    # bodies that are not JSON, and bodies on routes without one
    r = ctld.request("POST", CUST, token=admin, data=b'{"engagedParty": ',
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed-json"
    r = ctld.post(f"{API}/{cid}/erase", token=admin, json={"really": True})
    assert r.status_code == 400 and r.json()["code"] == "unexpected-body"
    assert table_counts(ctld) == before
    assert ctld.get(c["href"], token=admin).json() == c


def _wrong(schema):
    t = schema.get("type")
    if isinstance(t, list):
        kinds = {"number": 12345, "string": "text", "boolean": True,
                 "object": {"an": "object"}, "array": ["an", "array"]}
        return next(v for k, v in kinds.items()
                    if k not in t and not (k == "number" and "integer" in t))
    if t == "string" or "enum" in schema or "const" in schema:
        return 12345
    if t in ("integer", "number"):
        return "not a number"
    if t == "boolean":
        return "yes"
    if t == "array":
        return {"an": "object"}
    return ["an", "array"]


def test_every_customer_route_names_the_bad_field(ctld, admin):
    """From the OpenAPI document: every route of the domain with a body,
    each property with a value of the wrong type: a problem naming the
    property, and nothing written."""
    doc = ctld.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    c = register(ctld, admin, status="active")
    before = table_counts(ctld)
    checked = 0
    for path, item in doc["paths"].items():
        if not path.startswith(("/tmf-api/customerManagement/", "/tmf-api/party/",
                                "/api/v1/customers/")):
            continue
        for method, op in item.items():
            body = op.get("requestBody") if isinstance(op, dict) else None
            if not body:
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"]
            schema = schemas[ref.rsplit("/", 1)[1]]
            url = path.replace("{id}", c["id"])
            for prop, sub in schema["properties"].items():
                if "$ref" in sub:
                    sub = schemas[sub["$ref"].rsplit("/", 1)[1]]
                r = ctld.request(method.upper(), url, token=admin, json={prop: _wrong(sub)},
                                 headers=MERGE if method == "patch" else None)
                assert r.status_code in (400, 422) and is_problem(r), (method, path, prop)
                assert r.json().get("field") == f"/{prop}", (method, path, prop, r.json())
                checked += 1
    assert checked >= 60
    assert table_counts(ctld) == before


# ---------------------------------------------------- consents, preferences
def test_consent_history(ctld, admin):
    c = register(ctld, admin)
    url = f"{API}/{c['id']}/consents"
    steps = [("email", "marketing", "given", "2024-03-01T10:00:00Z"),
             ("email", "marketing", "withdrawn", "2024-06-01T10:00:00+02:00"),
             ("sms", "service", "given", None),
             ("email", "marketing", "given", None)]
    for ch, purpose, state, at in steps:
        body = {"channel": ch, "purpose": purpose, "state": state, "source": "web form"}
        if at:
            body["at"] = at
        r = ctld.post(url, token=admin, json=body)
        assert r.status_code == 201, r.text
        assert r.json()["customer_id"] == c["id"] and r.json()["state"] == state
    r = ctld.get(url, token=admin)
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "4"
    got = [(x["channel"], x["purpose"], x["state"]) for x in r.json()]
    assert got == [s[:3] for s in steps]
    assert r.json()[0]["at"] == "2024-03-01T10:00:00.000000Z"
    assert r.json()[1]["at"] == "2024-06-01T08:00:00.000000Z"
    r = ctld.get(url + "?channel=email&limit=1&offset=1", token=admin)
    assert r.headers["X-Total-Count"] == "3" and r.json()[0]["state"] == "withdrawn"
    assert ctld.get(url + "?channel=fax", token=admin).status_code == 400
    ev = [e.split()[0] for e in events_of(ctld, c["id"])]
    assert ev[1:] == ["customer.customer.consent_given", "customer.customer.consent_withdrawn",
                      "customer.customer.consent_given", "customer.customer.consent_given"]


def test_communication_preferences(ctld, admin):
    c = register(ctld, admin)
    url = f"{API}/{c['id']}/communication-preferences"
    r = ctld.get(url, token=admin)
    assert r.status_code == 200
    assert r.json() == {"preferred_channel": None, "language": None,
                        "channels": {"email": True, "sms": True, "phone": True, "post": True}}
    etag = r.headers["ETag"]
    body = {"preferred_channel": "email", "language": "de-CH",
            "channels": {"sms": False, "phone": False}}
    r = ctld.request("PUT", url, token=admin, json=body, headers={"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["channels"] == {"email": True, "sms": False, "phone": False, "post": True}
    r = ctld.request("PUT", url, token=admin, json=body, headers={"If-Match": etag})
    assert r.status_code == 412
    assert ctld.get(url, token=admin).json()["language"] == "de-CH"
    payload = json.loads(sql(ctld, "SELECT payload FROM customer.outbox WHERE aggregate_id = "
                                   f"'{c['id']}' ORDER BY seq DESC LIMIT 1"))
    assert payload == {"id": c["id"], "changed": ["communicationPreferences"]}


# ------------------------------------------------------------------ loyalty
def test_loyalty(ctld, admin, tokens):
    c = register(ctld, admin)
    url = f"{API}/{c['id']}/loyalty"
    r = ctld.post(url, token=admin, json={"kind": "earn", "points": 10, "reference": "o-0"})
    assert r.status_code == 409 and r.json()["code"] == "invalid-state"
    assert r.json()["currentState"] == "prospect"
    patch(ctld, c["href"], admin, {"status": "active"})
    r = ctld.post(url, token=tokens["billing"],
                  json={"kind": "earn", "points": 100, "reference": "order-1", "reason": "x"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["balance"] == 100 and first["balance_after"] == 100
    # a retry is the same transaction; the same reference for another one is a conflict
    r = ctld.post(url, token=tokens["billing"],
                  json={"kind": "earn", "points": 100, "reference": "order-1"})
    assert r.status_code == 200 and r.json()["id"] == first["id"]
    r = ctld.post(url, token=admin, json={"kind": "earn", "points": 5, "reference": "order-1"})
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = ctld.post(url, token=admin, json={"kind": "redeem", "points": 30, "reference": "r-1"})
    assert r.status_code == 201 and r.json()["balance"] == 70
    r = ctld.post(url, token=admin, json={"kind": "redeem", "points": 71, "reference": "r-2"})
    assert r.status_code == 409 and r.json()["code"] == "insufficient-points"
    assert r.json()["balance"] == 70
    # read-only may not move points; support may redeem but not earn
    r = ctld.post(url, token=tokens["support"], json={"kind": "earn", "points": 1,
                                                     "reference": "s-1"})
    assert r.status_code == 403
    # concurrent redemptions: the balance never goes below 0

    def redeem(k):
        return ctld.post(url, token=admin, json={"kind": "redeem", "points": 10,
                                                 "reference": f"c-{k}"}).status_code
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(redeem, range(12)))
    assert codes.count(201) == 7 and codes.count(409) == 5, codes
    r = ctld.get(url, token=admin)
    assert r.json() == {"customer_id": c["id"], "balance": 0, "earned": 100, "redeemed": 100,
                        "transactions": 9}
    r = ctld.get(url + "/transactions?limit=3", token=admin)
    assert r.headers["X-Total-Count"] == "9" and len(r.json()) == 3
    assert sql(ctld, "SELECT min(balance_after) FROM customer.loyalty_transactions"
                     f" WHERE customer_id = '{c['id']}'") == "0"
    ev = [e.split()[0] for e in events_of(ctld, c["id"])]
    assert ev.count("customer.customer.loyalty_earned") == 1
    assert ev.count("customer.customer.loyalty_redeemed") == 8


# ------------------------------------------------------- visibility by role
def test_personal_fields_by_role(ctld, admin, tokens):
    tag = uniq()
    c = register(ctld, admin, given=f"Vis{tag}", billing_mail=f"bill-{tag}@example.com",
                 mail=f"home-{tag}@example.com")
    href, party = c["href"], c["engagedParty"]["href"]
    for role in ("admin", "operator", "support"):
        assert ctld.get(href, token=tokens[role]).json() == c
    b = ctld.get(href, token=tokens["billing"]).json()
    assert b["name"] == c["name"]
    assert [m["characteristic"].get("contactType") for m in b["contactMedium"]] == [
        "billing", "billing"]
    bp = ctld.get(party, token=tokens["billing"]).json()
    assert "givenName" in bp and "birthDate" not in bp and "gender" not in bp
    assert bp["contactMedium"] == []  # the party's only medium is a home e-mail
    ro = ctld.get(href, token=tokens["read-only"]).json()
    assert "name" not in ro and "contactMedium" not in ro and "name" not in ro["engagedParty"]
    assert ro["status"] == "prospect" and ro["customerNumber"] == c["customerNumber"]
    rp = ctld.get(party, token=tokens["read-only"]).json()
    assert not {"givenName", "familyName", "fullName", "birthDate"} & set(rp)
    for item in ctld.get(f"{CUST}?limit=1000", token=tokens["read-only"]).json():
        assert "name" not in item and "contactMedium" not in item
    # filters on what one may not see are refused, or see only what one may
    r = ctld.get(f"{CUST}?name=Vis{tag}", token=tokens["read-only"])
    assert r.status_code == 403 and r.json()["field"] == "name"
    assert ctld.get(f"{CUST}?email=bill-{tag}@example.com",
                    token=tokens["read-only"]).status_code == 403
    r = ctld.get(f"{CUST}?email=home-{tag}@example.com", token=tokens["billing"])
    assert r.status_code == 200 and r.json() == []
    r = ctld.get(f"{CUST}?email=bill-{tag}@example.com", token=tokens["billing"])
    assert [x["id"] for x in r.json()] == [c["id"]]
    # the export is not for billing nor read-only
    assert ctld.get(f"{API}/{c['id']}/export", token=tokens["billing"]).status_code == 403


def test_self_care_sees_and_edits_only_its_own(ctld, admin, tokens, own):
    sc = tokens["self-care"]
    other = register(ctld, admin, status="active")
    assert ctld.get(own["href"], token=sc).json()["name"] == own["name"]
    r = ctld.get(other["href"], token=sc)
    assert r.status_code == 403 and is_problem(r)
    assert [c["id"] for c in ctld.get(CUST, token=sc).json()] == [own["id"]]
    assert ctld.get(own["engagedParty"]["href"], token=sc).status_code == 200
    assert ctld.get(other["engagedParty"]["href"], token=sc).status_code == 403
    parties = ctld.get(IND, token=sc).json()
    assert [p["id"] for p in parties] == [own["engagedParty"]["id"]]
    media = [email("me@example.net", "primary"), address("Neue Strasse 1")]
    r = patch(ctld, own["href"], sc, {"contactMedium": media})
    assert r.status_code == 200, r.text
    assert r.json()["contactMedium"][0]["characteristic"]["emailAddress"] == "me@example.net"
    for body in ({"status": "closed"}, {"name": "Someone Else"},
                 {"account": [{"id": "BA-stolen"}]}):
        r = patch(ctld, own["href"], sc, body)
        assert r.status_code == 403, (body, r.text)
    assert patch(ctld, other["href"], sc, {"contactMedium": media}).status_code == 403
    r = ctld.post(f"{API}/{own['id']}/consents", token=sc,
                  json={"channel": "sms", "purpose": "marketing", "state": "withdrawn"})
    assert r.status_code == 201
    r = ctld.post(f"{API}/{other['id']}/consents", token=sc,
                  json={"channel": "sms", "purpose": "marketing", "state": "withdrawn"})
    assert r.status_code == 403
    assert ctld.get(f"{API}/{own['id']}/export", token=sc).status_code == 200
    assert ctld.get(f"{API}/{other['id']}/export", token=sc).status_code == 403
    r = ctld.post(f"{API}/{own['id']}/loyalty", token=sc,
                  json={"kind": "earn", "points": 1000, "reference": "self-made"})
    assert r.status_code == 403
    assert ctld.post(f"{API}/{own['id']}/erase", token=sc).status_code == 403
    assert ctld.delete(own["href"], token=sc).status_code == 403


# ------------------------------------------------------------------ delete
def test_delete_only_prospects(ctld, admin):
    c = register(ctld, admin)
    a = register(ctld, admin, status="active")
    r = ctld.delete(a["href"], token=admin)
    assert r.status_code == 409 and r.json()["code"] == "invalid-state"
    assert r.json()["currentState"] == "active"
    r = ctld.delete(c["engagedParty"]["href"], token=admin)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = ctld.delete(c["href"], token=admin, headers={"If-Match": '"7"'})
    assert r.status_code == 412
    assert ctld.delete(c["href"], token=admin, headers={"If-Match": '"1"'}).status_code == 204
    assert ctld.get(c["href"], token=admin).status_code == 404
    assert ctld.delete(c["engagedParty"]["href"], token=admin).status_code == 204
    assert ctld.get(c["engagedParty"]["href"], token=admin).status_code == 404
    assert events_of(ctld, c["id"])[-1] == "customer.customer.deleted 2"
    assert events_of(ctld, c["engagedParty"]["id"])[-1] == "customer.party.deleted 2"


# -------------------------------------------------------------------- GDPR
PERSONAL_COLUMNS = {
    "customers": "name || contact_medium::text || characteristic::text"
                 " || coalesce(status_reason, '')",
    "parties": "coalesce(given_name, '') || coalesce(family_name, '') || coalesce(name, '')"
               " || coalesce(birth_date::text, '') || coalesce(gender, '')"
               " || contact_medium::text",
}


def schema_text(ctld):
    """Every row of every table of the customer schema, as text."""
    tables = sql(ctld, "SELECT tablename FROM pg_tables WHERE schemaname = 'customer'")
    return "\n".join(sql(ctld, f"SELECT t::text FROM customer.{t} t")
                     for t in tables.split())


def test_export_and_erase(ctld, admin, tokens):
    tag = uniq()
    given, family = f"Erin{tag}", f"Erasable{tag}"
    mail, mobile, street = f"erin-{tag}@example.org", "+41795550123", f"Geheimweg {tag}"
    c = register(ctld, admin, given=given, family=family, mail=mail, mobile=mobile,
                 street=street, status="active", birth="1967-03-21")
    cid, pid = c["id"], c["engagedParty"]["id"]
    secrets = [given, family, mail, mobile, street, "1967-03-21", f"kiosk {tag}",
               f"birthday {tag}", f"moved to {tag}"]
    ctld.post(f"{API}/{cid}/consents", token=admin,
              json={"channel": "email", "purpose": "marketing", "state": "given",
                    "source": f"kiosk {tag}"})
    ctld.post(f"{API}/{cid}/loyalty", token=admin,
              json={"kind": "earn", "points": 50, "reference": f"inv-{tag}",
                    "reason": f"birthday {tag}"})
    ctld.request("PUT", f"{API}/{cid}/communication-preferences", token=admin,
                 json={"preferred_channel": "post", "language": "fr"})
    patch(ctld, c["href"], admin, {"status": "suspended", "statusReason": f"moved to {tag}",
                                   "characteristic": [{"name": "segment", "value": "gold"}]})
    # the outbox never held personal values
    outbox = sql(ctld, "SELECT payload::text FROM customer.outbox")
    for s in secrets:
        assert s not in outbox, s
    # export: everything the domain holds
    r = ctld.get(f"{API}/{cid}/export", token=admin)
    assert r.status_code == 200 and r.headers.get("Cache-Control") == "no-store"
    x = r.json()
    assert x["customer"]["id"] == cid and x["party"]["givenName"] == given
    assert x["party"]["birthDate"] == "1967-03-21"
    assert x["consents"][0]["source"] == f"kiosk {tag}"
    assert x["loyalty"]["balance"] == 50 and x["loyalty"]["history"][0]["reason"]
    assert x["communication_preferences"]["preferred_channel"] == "post"
    assert [h["to"] for h in x["state_history"]] == ["active", "suspended"]
    assert {e["type"] for e in x["events"]} >= {"customer.customer.registered",
                                                "customer.party.created",
                                                "customer.customer.consent_given",
                                                "customer.customer.loyalty_earned",
                                                "customer.customer.state_changed"}
    text = schema_text(ctld)
    assert all(s in text for s in secrets)
    # only an admin erases
    assert ctld.post(f"{API}/{cid}/erase", token=tokens["operator"]).status_code == 403
    r = ctld.post(f"{API}/{cid}/erase", token=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"id": cid, "customer_number": c["customerNumber"], "status": "closed",
                        "erased": True}
    before = outbox_count(ctld)
    r2 = ctld.post(f"{API}/{cid}/erase", token=admin)
    assert r2.status_code == 200 and r2.json() == r.json()
    assert outbox_count(ctld) == before
    # gone from the tables (outbox included) ...
    text = schema_text(ctld)
    for s in secrets:
        assert s not in text, s
    # ... and from the answers, while the ids and billing's references resolve
    got = ctld.get(c["href"], token=admin).json()
    assert got["status"] == "closed" and got["customerNumber"] == c["customerNumber"]
    assert got["account"] == c["account"]
    assert got["name"].startswith("Erased ") and got["contactMedium"] == []
    assert "statusReason" not in got and got["characteristic"] == []
    r = ctld.get(f"{CUST}?customerNumber={c['customerNumber']}", token=tokens["billing"])
    assert [x["id"] for x in r.json()] == [cid]
    p = ctld.get(c["engagedParty"]["href"], token=admin).json()
    assert p["fullName"] == got["name"] and "birthDate" not in p and p["contactMedium"] == []
    assert ctld.get(f"{CUST}?email={mail}", token=admin).json() == []
    x = ctld.get(f"{API}/{cid}/export", token=admin).json()
    assert all(s not in json.dumps(x) for s in secrets)
    assert [h["to"] for h in x["state_history"]] == ["active", "suspended", "closed"]
    assert x["loyalty"]["balance"] == 50 and len(x["consents"]) == 1
    # the erase event says what remains, for billing
    ev = json.loads(sql(ctld, "SELECT payload FROM customer.outbox WHERE aggregate_id = "
                              f"'{cid}' AND type = 'customer.customer.erased'"))
    assert ev["id"] == cid and ev["customerNumber"] == c["customerNumber"]
    assert ev["account"] == [a["id"] for a in c["account"]]
    assert ev["previousStatus"] == "suspended" and ev["status"] == "closed"
    assert events_of(ctld, pid)[-1].startswith("customer.party.erased")
    # no more changes
    r = patch(ctld, c["href"], admin, {"name": "Back Again"})
    assert r.status_code == 409 and r.json()["code"] == "erased"
    r = ctld.post(f"{API}/{cid}/consents", token=admin,
                  json={"channel": "email", "purpose": "marketing", "state": "given"})
    assert r.status_code == 409


# ------------------------------------------------------------------- events
def test_every_change_reaches_the_change_journal(ctld, admin):
    ids = set(sql(ctld, "SELECT event_id FROM customer.outbox").split())
    assert len(ids) > 50
    deadline = time.monotonic() + 20
    while True:
        r = ctld.get("/api/v1/audit/changes?limit=1000", token=admin)
        journal = [e for e in r.json() if e["source"] == "customer"]
        total = int(r.headers["X-Total-Count"])
        offset = 1000
        while offset < total:
            more = ctld.get(f"/api/v1/audit/changes?limit=1000&offset={offset}", token=admin)
            journal += [e for e in more.json() if e["source"] == "customer"]
            offset += 1000
        if {e["event_id"] for e in journal} >= ids or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {e["event_id"] for e in journal} >= ids
    assert {e["type"].split(".")[1] for e in journal} == {"customer", "party"}
    # traces cross: an event carries the traceparent of its request
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    r = ctld.post(IND, token=admin, json={"givenName": "Trace", "familyName": "Able"},
                  headers={"traceparent": tp})
    assert r.status_code == 201
    got = sql(ctld, "SELECT traceparent FROM customer.outbox WHERE aggregate_id = "
                    f"'{r.json()['id']}'")
    assert got.startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")


def test_erasure_reaches_stored_idempotent_answers(ctld, admin):
    """The gateway keeps POST answers for Idempotency-Key replays; an erasure
    removes those that name the customer or its party (they hold personal
    data), through the gateway's consumer of the customer domain's events."""
    given = f"Idem{uniq()}"
    party = new_individual(ctld, admin, given, "Erasable")
    r = ctld.post(CUST, token=admin, headers={"Idempotency-Key": str(uuid.uuid4())},
                  json={"engagedParty": {"id": party["id"], "@referredType": "Individual"},
                        "contactMedium": [email(f"{given.lower()}@example.org", "primary")]})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]

    def stored():
        return int(sql(ctld, "SELECT count(*) FROM gateway.idempotency WHERE "
                             f"position(convert_to('{cid}', 'UTF8') in body) > 0"))
    assert stored() == 1
    r = ctld.post(f"/api/v1/customers/{cid}/erase", token=admin)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 15
    while stored() != 0:
        assert time.monotonic() < deadline, "the stored answer outlived the erasure"
        time.sleep(0.1)
