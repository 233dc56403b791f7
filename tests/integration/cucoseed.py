"""Seed data for the lab: a small, realistic catalog (fiber offerings with
their bandwidth profiles and prices, a promotion, CPE inventory) and a few
customers, created through the REST API as an operator's system would.

    import cucoseed
    summary = cucoseed.seed(ctld.url, token)

Idempotent per cluster: a catalog named "Residential" means it was seeded.
"""

import requests

TMF = "/tmf-api/productCatalogManagement/v4"

# name, down/up Mbit/s, EUR per month
FIBER = [
    ("Fiber 20", 20, 5, 19.90),
    ("Fiber 50", 50, 10, 24.90),
    ("Fiber 100", 100, 20, 29.90),
    ("Fiber 500", 500, 100, 44.90),
    ("Fiber 1000", 1000, 250, 59.90),
]
SETUP_FEE = 49.00

CPE = [
    ("CPE Fritz!Box 7590", "cpe", "CPE-FRITZ-7590", 40),
    ("ONT Nokia G-010G-Q", "cpe", "ONT-NOKIA-G010G", 120),
    ("Access port capacity 10G", "port-capacity", "PORT-10G", 48),
]

CUSTOMERS = [
    {"kind": "individual", "givenName": "Ada", "familyName": "Lovelace",
     "email": "ada@example.org", "phone": "+441632960001", "status": "active",
     "street": "12 Analytical Row"},
    {"kind": "individual", "givenName": "Grace", "familyName": "Hopper",
     "email": "grace@example.org", "phone": "+441632960002", "status": "active",
     "street": "7 Compiler Lane"},
    {"kind": "individual", "givenName": "Alan", "familyName": "Turing",
     "email": "alan@example.org", "phone": "+441632960004", "status": "prospect",
     "street": "3 Enigma Close"},
    {"kind": "organization", "name": "Example Bakery Ltd", "tradingName": "Example Bakery",
     "email": "accounts@bakery.example", "phone": "+441632960003", "status": "active",
     "street": "1 High Street"},
]


class SeedError(Exception):
    pass


class _Api:
    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.h = {"Authorization": f"Bearer {token}"}

    def call(self, method, path, body=None, want=(200, 201)):
        r = requests.request(method, self.url + path, headers=self.h, json=body, timeout=30)
        if r.status_code not in want:
            raise SeedError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None


def _profile(name, down, up):
    mbit = 1_000_000
    # The rate sold, no more (PIR = CIR: above it is red, dropped), with bursts
    # of 200 ms of the rate in bytes, which TCP needs through a policer.
    return {
        "name": name,
        "up": {"cir": up * mbit, "pir": up * mbit, "cbs": up * mbit // 40,
               "pbs": up * mbit // 40},
        "down": {"cir": down * mbit, "pir": down * mbit, "cbs": down * mbit // 40,
                 "pbs": down * mbit // 40},
    }


def seed_catalog(api):
    if any(c["name"] == "Residential" for c in api.call("GET", f"{TMF}/catalog")):
        return None
    category = api.call("POST", f"{TMF}/category", {"name": "Fiber internet"})
    offerings = []
    setup = api.call("POST", f"{TMF}/productOfferingPrice", {
        "name": "Installation", "priceType": "oneTime",
        "price": {"unit": "EUR", "value": SETUP_FEE}})
    api.call("PATCH", f"{TMF}/productOfferingPrice/{setup['id']}",
             {"lifecycleStatus": "Active"})
    for name, down, up, eur in FIBER:
        slug = name.lower().replace(" ", "")
        prof = api.call("POST", "/api/v1/profiles", _profile(slug, down, up))
        spec = api.call("POST", f"{TMF}/productSpecification", {
            "name": f"{name} access", "description": f"{down}/{up} Mbit/s fiber access",
            "bandwidthProfile": {"id": prof["id"]}})
        api.call("PATCH", f"{TMF}/productSpecification/{spec['id']}",
                 {"lifecycleStatus": "Active"})
        monthly = api.call("POST", f"{TMF}/productOfferingPrice", {
            "name": f"{name} monthly", "priceType": "recurring",
            "recurringChargePeriodType": "month", "price": {"unit": "EUR", "value": eur}})
        api.call("PATCH", f"{TMF}/productOfferingPrice/{monthly['id']}",
                 {"lifecycleStatus": "Active"})
        off = api.call("POST", f"{TMF}/productOffering", {
            "name": name, "description": f"Fiber internet {down}/{up} Mbit/s",
            "productSpecification": {"id": spec["id"]},
            "productOfferingPrice": [{"id": monthly["id"]}, {"id": setup["id"]}],
            "category": [{"id": category["id"]}]})
        api.call("PATCH", f"{TMF}/productOffering/{off['id']}", {"lifecycleStatus": "Active"})
        offerings.append(off)
    by_name = {o["name"]: o for o in offerings}
    api.call("POST", "/api/v1/promotions", {
        "name": "Welcome: half price for 3 months", "kind": "percentage", "percentage": 50,
        "duration_months": 3, "valid_from": "2026-01-01T00:00:00Z",
        "valid_to": "2028-01-01T00:00:00Z",
        "offering_ids": [by_name["Fiber 100"]["id"], by_name["Fiber 500"]["id"]]})
    for name, kind, sku, qty in CPE:
        api.call("POST", "/api/v1/inventory",
                 {"name": name, "kind": kind, "sku": sku, "quantity": qty})
    api.call("POST", f"{TMF}/catalog", {
        "name": "Residential", "description": "Fiber internet for homes and small offices",
        "category": [{"id": category["id"]}]})
    return [o["name"] for o in offerings]


def seed_customers(api):
    """The customers, when the customer domain is there (its routes answer)."""
    path = "/tmf-api/customerManagement/v4/customer"
    try:
        existing = api.call("GET", path + "?limit=1")
    except SeedError:
        return None
    if existing:
        return None
    created = []
    for c in CUSTOMERS:
        created.append(seed_customer(api, c))
    return created


def seed_customer(api, c):
    """One customer through TMF632 (its party) and TMF629."""
    media = [{"mediumType": "email",
              "characteristic": {"emailAddress": c["email"], "contactType": "primary"}},
             {"mediumType": "mobile", "characteristic": {"phoneNumber": c["phone"]}},
             {"mediumType": "postalAddress",
              "characteristic": {"contactType": "billing", "street1": c["street"],
                                 "city": "London", "postCode": "EC1A 1BB", "country": "GB"}}]
    if c["kind"] == "individual":
        party = api.call("POST", "/tmf-api/party/v4/individual", {
            "givenName": c["givenName"], "familyName": c["familyName"]})
        ref = "Individual"
    else:
        party = api.call("POST", "/tmf-api/party/v4/organization", {
            "name": c["name"], "tradingName": c["tradingName"],
            "organizationType": "company", "isLegalEntity": True})
        ref = "Organization"
    cust = api.call("POST", "/tmf-api/customerManagement/v4/customer", {
        "engagedParty": {"id": party["id"], "@referredType": ref},
        "contactMedium": media, "status": c["status"]})
    return cust["name"]


def seed(url, token):
    api = _Api(url, token)
    return {"offerings": seed_catalog(api), "customers": seed_customers(api)}
