"""Rate limits of the REST gateway, on a controld of their own with tight
limits (so that other modules' requests are not throttled); this controld
reaches its PostgreSQL by URL over TCP, as it would an external server, and
is refused a database newer than itself."""

import concurrent.futures
import subprocess

import cucoctld

CTLD_OPTIONS = {"config_extra": "rate-limit token 5 10\nrate-limit address 50 100\n",
                "external_db": True}


def test_burst_gets_429_with_retry_after(ctld):
    token = ctld.admin_token()

    def get(_):
        return ctld.get("/api/v1/roles", token=token)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(get, range(60)))
    codes = [r.status_code for r in answers]
    assert codes.count(200) >= 10, codes
    limited = [r for r in answers if r.status_code == 429]
    assert limited, codes
    for r in limited:
        assert int(r.headers["Retry-After"]) >= 1
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["code"]
    # probes are never limited
    assert all(ctld.get("/healthz").status_code == 200 for _ in range(20))


def test_address_limit_applies_without_a_token(ctld):
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: ctld.get("/api/v1/roles"), range(300)))
    codes = {r.status_code for r in answers}
    assert 401 in codes and 429 in codes, codes


def test_external_database_by_url(ctld):
    assert f"127.0.0.1:{ctld.db_port}" in (ctld.root / "controld.conf").read_text()
    assert ctld.get("/readyz").json()["checks"]["database"] == "ok"
    # the connection really is TCP: the server sees a client address
    out = cucoctld.psql(ctld.db_url, "SELECT count(*) FROM pg_stat_activity "
                                     "WHERE client_addr = '127.0.0.1'")
    assert int(out) >= 1


def test_database_newer_than_the_binary_is_refused(ctld):
    cucoctld.psql(ctld.db_url, "INSERT INTO security.schema_migrations "
                               "(component, version, name) VALUES ('security', 999, 'future')")
    try:
        ctld.stop_controld()
        conf = str(ctld.root / "controld.conf")
        r = subprocess.run([str(cucoctld.binary()), "-c", conf, "migrate"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        assert "999" in r.stderr and "refusing" in r.stderr, r.stderr
    finally:
        cucoctld.psql(ctld.db_url, "DELETE FROM security.schema_migrations WHERE version = 999")
        ctld.start_controld()
    assert ctld.get("/readyz").status_code == 200
