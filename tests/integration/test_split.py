"""Two cuco-controld processes of one deployment, talking over the bus on
tcp: A hosts security and customer, B hosts catalog. B authenticates A's
tokens (shared keys and database), and B's catalog events reach A's change
journal over tcp, exactly once, also after B is killed and restarted."""

import time

import pytest

import cucoctld
from cucoctld import free_port

TMF = "/tmf-api/productCatalogManagement/v4"
PROFILE = {"up": {"cir": 5_000_000, "pir": 6_000_000, "cbs": 125_000, "pbs": 150_000},
           "down": {"cir": 20_000_000, "pir": 24_000_000, "cbs": 500_000, "pbs": 600_000}}


def endpoints():
    p = [free_port() for _ in range(6)]
    return {d: (f"tcp://127.0.0.1:{p[2 * i]}", f"tcp://127.0.0.1:{p[2 * i + 1]}")
            for i, d in enumerate(("security", "customer", "catalog"))}


@pytest.fixture(scope="module")
def split(ctld_pair):
    return ctld_pair


@pytest.fixture(scope="module")
def ctld_pair(request, tmp_path_factory):
    import os
    if os.geteuid() != 0:
        pytest.skip("needs root (the cluster runs as postgres)")
    ep = endpoints()

    def lines(kind, domains):
        return "".join(f"{kind} {d} {ep[d][0]} {ep[d][1]}\n" for d in domains)
    import conftest
    root = conftest._state_root() / f"cc{os.getpid()}n{next(conftest._seq)}"
    a = cucoctld.Controld(root / "a", config_extra="domains security customer\n"
                          + lines("bind", ("security", "customer"))
                          + lines("endpoint", ("catalog",)))
    b = None
    try:
        a.start()
        b = cucoctld.Controld(root / "b", share=a, config_extra="domains catalog\n"
                              + lines("bind", ("catalog",))
                              + lines("endpoint", ("security", "customer")))
        b.start()
        yield a, b
    finally:
        if b is not None:
            b.stop()
        a.stop()
        for c in (a, b):
            if c is not None and "runtime error:" in c.log_text():
                pytest.fail(f"sanitizer report in {c.log_path}")


def journal(a, token):
    return a.get("/api/v1/audit/changes?limit=1000", token=token).json()


def test_b_serves_catalog_with_a_tokens(split):
    a, b = split
    token = a.admin_token()
    r = b.post("/api/v1/profiles", token=token, json=dict(PROFILE, name="split-1"))
    assert r.status_code == 201, r.text
    assert a.post("/api/v1/profiles", token=token,
                  json=dict(PROFILE, name="x")).status_code == 404, "A hosts no catalog"
    r = b.get("/api/v1/users", token=token)
    assert r.status_code == 404, "B hosts no security routes"


def test_b_events_reach_a_journal_over_tcp_once(split):
    a, b = split
    token = a.admin_token()
    for i in range(3):
        r = b.post("/api/v1/profiles", token=token, json=dict(PROFILE, name=f"tcp-{i}"))
        assert r.status_code == 201, r.text
    b.kill9()
    b.start_controld()
    r = b.post("/api/v1/profiles", token=token, json=dict(PROFILE, name="after-restart"))
    assert r.status_code == 201, r.text
    want = cucoctld.psql(a.db_url, "SELECT event_id FROM catalog.outbox").split()
    deadline = time.monotonic() + 20
    while True:
        got = [e["event_id"] for e in journal(a, token) if e["source"] == "catalog"]
        if sorted(got) == sorted(want):
            break
        assert time.monotonic() < deadline, f"journal {len(got)} of {len(want)} catalog events"
        time.sleep(0.2)
    assert len(got) == len(set(got))
