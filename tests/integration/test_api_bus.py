"""The bus inside the real cuco-controld: every event of the outbox reaches
the security domain's change journal exactly once, also across kill -9
during writes; a message the consumer keeps failing is parked, does not
block the ones behind it, shows in /metrics and /api/v1/dead-letters, and
is applied by a replay once fixed; a domain in another process."""

import concurrent.futures
import time
import uuid

import pytest

import cucoctld

PASSWORD = "correct-horse-battery-9"
CTLD_OPTIONS = {"config_extra": "dead-letter-attempts 3\n"
                                "rate-limit token 1000 2000\nrate-limit address 1000 2000\n"}


def outbox_ids(ctld):
    out = cucoctld.psql(ctld.db_url, "SELECT event_id FROM security.outbox ORDER BY pos")
    return out.split()


def journal(ctld, token):
    r = ctld.get("/api/v1/audit/changes?limit=1000", token=token)
    assert r.status_code == 200, r.text
    return r.json()


def wait_journal_caught_up(ctld, token, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        want = outbox_ids(ctld)
        got = [e["event_id"] for e in journal(ctld, token)]
        if sorted(got) == sorted(want):
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"journal has {len(got)} events, the outbox {len(want)}; "
                        f"missing {sorted(set(want) - set(got))[:5]}, "
                        f"unknown {sorted(set(got) - set(want))[:5]}")
        time.sleep(0.2)


def create_user(ctld, token, name):
    return ctld.post("/api/v1/users", token=token,
                     json={"name": name, "roles": ["support"], "password": PASSWORD})


def test_every_event_reaches_the_journal_once(ctld):
    token = ctld.admin_token()
    for i in range(5):
        assert create_user(ctld, token, f"bus-{i}").status_code == 201
    got = wait_journal_caught_up(ctld, token)
    assert len(got) == len(set(got)) >= 5
    entries = journal(ctld, token)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    created = [e for e in entries if e["type"] == "security.user.created"]
    assert len(created) >= 6 and all(e["source"] == "security" for e in created)
    # the request's trace crosses the bus
    tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    r = ctld.post("/api/v1/users", token=token, headers={"traceparent": tp},
                  json={"name": "traced", "roles": ["support"], "password": PASSWORD})
    assert r.status_code == 201
    wait_journal_caught_up(ctld, token)
    assert any(e["traceparent"].startswith("00-0af7651916cd43dd8448eb211c80319c-")
               for e in journal(ctld, token))


def test_kill9_during_writes_loses_no_event_and_applies_none_twice(ctld):
    token = ctld.admin_token()
    names = [f"k9-{uuid.uuid4().hex[:8]}" for _ in range(40)]

    def write(name):
        try:
            return create_user(ctld, token, name).status_code
        except Exception:  # the process died under the request
            return None
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(write, n) for n in names]
        deadline = time.monotonic() + 30
        while sum(f.done() for f in futures) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        ctld.kill9()
        results = [f.result() for f in futures]
    assert results.count(201) >= 10
    ctld.start_controld()
    token = ctld.admin_token()
    got = wait_journal_caught_up(ctld, token)
    assert len(got) == len(set(got))
    # what the API confirmed exists, and only once
    users = ctld.get("/api/v1/users?limit=1000", token=token).json()
    listed = [u["name"] for u in users]
    for name, status in zip(names, results):
        if status == 201:
            assert listed.count(name) == 1, name


def test_poisoned_event_is_parked_and_replayed(ctld):
    token = ctld.admin_token()
    # a fault only the journal meets: its inserts of password resets fail
    cucoctld.psql(ctld.db_url, """
        CREATE FUNCTION security.poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.type = 'security.user.password_reset' THEN
                RAISE EXCEPTION 'poisoned for the test';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER poison BEFORE INSERT ON security.change_journal
            FOR EACH ROW EXECUTE FUNCTION security.poison();""")
    try:
        r = create_user(ctld, token, "victim")
        uid = r.json()["id"]
        r = ctld.post(f"/api/v1/users/{uid}/password-reset", token=token,
                      json={"new_password": PASSWORD + "-reset"})
        assert r.status_code == 204, r.text
        # the event behind it is not blocked
        assert create_user(ctld, token, "behind").status_code == 201
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            letters = ctld.get("/api/v1/dead-letters?state=parked", token=token).json()
            if letters:
                break
            time.sleep(0.2)
        assert len(letters) == 1, letters
        letter = letters[0]
        assert letter["type"] == "security.user.password_reset"
        assert "poisoned for the test" in letter["error"]
        assert letter["attempts"] == 3
        types = [e["type"] for e in journal(ctld, token)]
        assert types[-1] == "security.user.created", "the event behind was applied"
        assert 'cuco_dead_letters{consumer="journal"} 1' in ctld.get("/metrics").text
        # still broken: the replay fails and it stays parked
        r = ctld.post(f"/api/v1/dead-letters/{letter['id']}/replay", token=token)
        assert r.status_code == 409, r.text
    finally:
        cucoctld.psql(ctld.db_url, "DROP TRIGGER poison ON security.change_journal; "
                                   "DROP FUNCTION security.poison();")
    r = ctld.post(f"/api/v1/dead-letters/{letter['id']}/replay", token=token)
    assert r.status_code == 200, r.text
    assert "security.user.password_reset" in [e["type"] for e in journal(ctld, token)]
    assert ctld.get("/api/v1/dead-letters?state=parked", token=token).json() == []
    assert 'cuco_dead_letters{consumer="journal"} 0' in ctld.get("/metrics").text
    r = ctld.post(f"/api/v1/dead-letters/{letter['id']}/replay", token=token)
    assert r.status_code == 404


def test_metrics_show_the_bus(ctld):
    text = ctld.get("/metrics").text
    assert 'cuco_outbox_lag{domain="security"}' in text
    assert 'cuco_bus_queue_depth{consumer="journal"}' in text
    assert 'cuco_consumer_lag{consumer="journal",source="security"}' in text


def test_concurrent_writes_lose_no_audit_record(ctld):
    """Writers draw their audit records' positions in one order and commit in
    another; the chainer links each committed record once and drops none,
    also one that committed while a round was chaining those around it."""
    token = ctld.admin_token()
    ids = [create_user(ctld, token, f"audit-{i}").json()["id"] for i in range(8)]

    def patch_many(uid):
        codes = []
        for n in range(100):
            r = ctld.patch(f"/api/v1/users/{uid}", token=token,
                           json={"display_name": f"audited {n}"})
            codes.append(r.status_code)
        return codes
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(ids)) as pool:
        codes = [c for cs in pool.map(patch_many, ids) for c in cs]
    assert codes.count(200) == len(codes), sorted(set(codes))
    # verification flushes the chainer first
    assert ctld.get("/api/v1/audit/verify", token=token).json()["ok"] is True
    targets = ",".join(f"'user:{u}'" for u in ids)
    chained = cucoctld.psql(ctld.db_url,
                            "SELECT count(*), count(DISTINCT (target, details))"
                            " FROM security.audit_log WHERE action = 'security.user.update'"
                            f" AND target IN ({targets})")
    assert chained == f"{len(codes)}|{len(codes)}"
    assert cucoctld.psql(ctld.db_url, "SELECT count(*) FROM security.audit_pending") == "0"
