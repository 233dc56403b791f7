"""Rate limits of the REST gateway, on a controld of their own with tight
limits (so that other modules' requests are not throttled)."""

import concurrent.futures

CTLD_OPTIONS = {"config_extra": "rate-limit token 5 10\nrate-limit address 50 100\n"}


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
