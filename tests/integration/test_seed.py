"""The lab's seed data goes in through the API and reads back: the fiber
offerings are Active and orderable, priced, with their profiles; the CPE
inventory and the customers are there; seeding twice changes nothing."""

import cucoseed

TMF = "/tmf-api/productCatalogManagement/v4"


def test_seed_catalog_and_customers(ctld):
    token = ctld.admin_token()
    first = cucoseed.seed(ctld.url, token)
    assert first["offerings"] == [name for name, *_ in cucoseed.FIBER]
    outbox = cucoctld_outbox(ctld)
    assert cucoseed.seed(ctld.url, token) == {"offerings": None, "customers": None}
    assert cucoctld_outbox(ctld) == outbox, "a second seed wrote something"
    offerings = ctld.get(f"{TMF}/productOffering?lifecycleStatus=Active&limit=100",
                         token=token).json()
    names = {o["name"] for o in offerings}
    assert {name for name, *_ in cucoseed.FIBER} <= names
    profiles = {p["name"]: p for p in ctld.get("/api/v1/profiles?limit=100", token=token).json()}
    assert profiles["fiber100"]["down"]["cir"] == 100_000_000
    items = ctld.get("/api/v1/inventory?limit=100", token=token).json()
    assert {i["sku"] for i in items} >= {sku for _n, _k, sku, _q in cucoseed.CPE}
    assert first["customers"] == ["Ada Lovelace", "Grace Hopper", "Alan Turing",
                                  "Example Bakery Ltd"]
    customers = ctld.get("/tmf-api/customerManagement/v4/customer?status=active",
                         token=token).json()
    assert len(customers) == 3


def cucoctld_outbox(ctld):
    import cucoctld
    return cucoctld.psql(ctld.db_url, "SELECT count(*) FROM catalog.outbox")
