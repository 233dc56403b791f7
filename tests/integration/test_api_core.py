"""The REST gateway and the security domain against the real cuco-controld
and a real PostgreSQL cluster, with requests as the client: bad bodies on
every route, the role-by-route matrix from the OpenAPI document, forged
tokens, idempotent POSTs, If-Match, audit tampering, logs and drain."""

import base64
import concurrent.futures
import copy
import hashlib
import hmac
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest

import cucoctld

ROLES = ("admin", "operator", "support", "billing", "read-only", "self-care")
PASSWORD = "correct-horse-battery-9"
CTLD_OPTIONS = {"config_extra": "max-body 64k\nrate-limit token 1000 2000\n"
                                "rate-limit address 1000 2000\n"}


@pytest.fixture(scope="module")
def admin(ctld):
    return ctld.admin_token()


@pytest.fixture(scope="module")
def role_tokens(ctld, admin):
    """One user per role (self-care bound to a customer id), logged in."""
    tokens = {}
    for role in ROLES:
        body = {"name": f"user-{role}", "roles": [role], "password": PASSWORD}
        if role == "self-care":
            body["customer_id"] = "cust-1"
        r = ctld.post("/api/v1/users", token=admin, json=body)
        assert r.status_code == 201, r.text
        tokens[role] = ctld.login(f"user-{role}", PASSWORD)["access_token"]
    return tokens


@pytest.fixture(scope="module")
def openapi(ctld):
    r = ctld.get("/api/v1/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method.upper(), op


def concrete(path):
    return path.replace("{id}", str(uuid.uuid4()))


def is_problem(r):
    return (r.headers.get("Content-Type", "").startswith("application/problem+json")
            and "code" in r.json() and r.json().get("status") == r.status_code)


def audit_count(ctld, token):
    r = ctld.get("/api/v1/audit?limit=1", token=token)
    assert r.status_code == 200, r.text
    return int(r.headers["X-Total-Count"])


def user_count(ctld, token):
    r = ctld.get("/api/v1/users?limit=1", token=token)
    assert r.status_code == 200, r.text
    return int(r.headers["X-Total-Count"])


# ---------------------------------------------------------------- the basics
def test_probes_and_metrics(ctld):
    assert ctld.get("/healthz").status_code == 200
    r = ctld.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["database"] == "ok"
    ctld.get("/api/v1/users")  # a 401 to count
    text = ctld.get("/metrics").text
    assert "# TYPE" in text
    assert 'status="401"' in text
    assert "_bucket{" in text and "_sum" in text and "_count" in text


def test_openapi_document_validates(openapi):
    """OpenAPI 3.1: the schemas are valid JSON Schema 2020-12, every $ref
    resolves, every operation answers something."""
    import jsonschema
    assert openapi["openapi"].startswith("3.1")
    assert openapi["info"]["title"] and openapi["info"]["version"]
    schemas = openapi["components"]["schemas"]
    for name, schema in schemas.items():
        jsonschema.Draft202012Validator.check_schema(schema)

    def refs(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    yield v
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)
    for ref in refs(openapi):
        assert ref.startswith("#/components/"), ref
        node = openapi
        for part in ref[2:].split("/"):
            assert part in node, f"dangling {ref}"
            node = node[part]
    ops = list(operations(openapi))
    assert len(ops) >= 15
    for path, method, op in ops:
        assert op.get("responses"), f"{method} {path} has no responses"
        if "{id}" in path:
            assert any(p["name"] == "id" for p in op.get("parameters", [])
                       + openapi["paths"][path].get("parameters", [])), path


# --------------------------------------------------------------- bad bodies
def _wrong_type(schema):
    t = schema.get("type")
    if t == "string" or "enum" in schema or "const" in schema:
        return 12345
    if t == "integer" or t == "number":
        return "not a number"
    if t == "boolean":
        return "yes"
    if t == "array":
        return {"an": "object"}
    return ["an", "array"]


def test_every_route_refuses_bad_bodies_and_writes_nothing(ctld, admin, openapi):
    schemas = openapi["components"]["schemas"]
    before = (audit_count(ctld, admin), user_count(ctld, admin))
    checked = 0
    for path, method, op in operations(openapi):
        body = op.get("requestBody")
        if not body:
            continue
        ref = body["content"]["application/json"]["schema"]["$ref"]
        schema = schemas[ref.rsplit("/", 1)[1]]
        url = concrete(path)
        # malformed JSON
        r = ctld.request(method, url, token=admin, data=b'{"name": ',
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and is_problem(r), (method, path, r.text)
        assert r.json()["code"] == "malformed-json"
        # not an object
        r = ctld.request(method, url, token=admin, json=[1, 2])
        assert 400 <= r.status_code < 500 and is_problem(r), (method, path, r.text)
        # an unknown field
        r = ctld.request(method, url, token=admin, json={"no_such_field": 1})
        assert 400 <= r.status_code < 500 and is_problem(r), (method, path, r.text)
        # each property with a wrong type
        for prop, sub in schema.get("properties", {}).items():
            r = ctld.request(method, url, token=admin, json={prop: _wrong_type(sub)})
            assert 400 <= r.status_code < 500 and is_problem(r), (method, path, prop, r.text)
            assert r.status_code != 404 or "{id}" in path
        # oversized (max-body 64k)
        r = ctld.request(method, url, token=admin,
                         json={"name": "x" * (70 * 1024)})
        assert r.status_code == 413 and is_problem(r), (method, path, r.status_code)
        checked += 1
    assert checked >= 8
    # a bad body names the field
    r = ctld.post("/api/v1/users", token=admin,
                  json={"name": "bob", "roles": ["admin"], "password": 7})
    assert r.status_code in (400, 422)
    assert r.json().get("field") == "/password", r.json()
    # failed logins are audited by design; nothing else was written
    after = (audit_count(ctld, admin), user_count(ctld, admin))
    assert after == before


def test_wrong_media_type_and_unknown_paths(ctld, admin):
    r = ctld.post("/api/v1/users", token=admin, data="name=x",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and is_problem(r)
    r = ctld.get("/api/v1/no-such-thing", token=admin)
    assert r.status_code == 404 and is_problem(r)
    r = ctld.request("PUT", "/api/v1/roles", token=admin, json={})
    assert r.status_code == 405 and "GET" in r.headers.get("Allow", "")


def test_huge_header_is_431(ctld):
    r = ctld.get("/healthz", headers={"X-Padding": "a" * (64 * 1024)})
    assert r.status_code == 431


# ------------------------------------------------------------------- RBAC
def test_role_by_route_matrix(ctld, openapi, role_tokens):
    """The OpenAPI document's x-roles is the gateway's table: every role not
    in it gets the gateway's 403 on that route, every role in it gets past."""
    checked = 0
    for path, method, op in operations(openapi):
        allowed = op.get("x-roles")
        if not allowed:
            continue
        for role, token in role_tokens.items():
            r = ctld.request(method, concrete(path), token=token,
                             json={} if op.get("requestBody") else None)
            gateway_403 = (r.status_code == 403
                           and "needs one of the roles" in r.json().get("detail", ""))
            if role in allowed:
                assert r.status_code != 401 and not gateway_403, (role, method, path, r.text)
            else:
                assert gateway_403, (role, method, path, r.status_code, r.text)
            checked += 1
        r = ctld.request(method, concrete(path))
        assert r.status_code == 401 and "Bearer" in r.headers.get("WWW-Authenticate", "")
    assert checked >= 60


def test_first_login_token_only_changes_the_password(ctld, admin):
    r = ctld.post("/api/v1/users", token=admin,
                  json={"name": "newbie", "roles": ["operator"], "password": PASSWORD,
                        "must_change_password": True})
    assert r.status_code == 201
    first = ctld.login("newbie", PASSWORD)
    assert first["password_change_required"] is True
    assert ctld.get("/api/v1/roles", token=first["access_token"]).status_code == 403
    r = ctld.post("/api/v1/auth/password", token=first["access_token"],
                  json={"old_password": PASSWORD, "new_password": "short"})
    assert r.status_code == 400 and r.json()["code"] == "weak-password"
    r = ctld.post("/api/v1/auth/password", token=first["access_token"],
                  json={"old_password": PASSWORD, "new_password": PASSWORD + "-new"})
    assert r.status_code == 204
    again = ctld.login("newbie", PASSWORD + "-new")
    assert again["password_change_required"] is False
    assert ctld.get("/api/v1/roles", token=again["access_token"]).status_code == 200


# ------------------------------------------------------------- token forgery
def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(header, claims, key):
    h = _b64(json.dumps(header, separators=(",", ":")).encode())
    c = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(key, f"{h}.{c}".encode(), hashlib.sha256).digest()
    return f"{h}.{c}.{_b64(sig)}"


def test_forged_tokens_are_401(ctld, role_tokens):
    good = role_tokens["read-only"]
    assert ctld.get("/api/v1/roles", token=good).status_code == 200
    h, c, s = good.split(".")
    claims = json.loads(_unb64(c))
    key = (ctld.state / "security" / "jwt.key").read_bytes()
    assert len(key) == 32
    now = int(time.time())
    none = _b64(b'{"alg":"none","typ":"JWT"}')
    forged = {
        "expired": _sign({"alg": "HS256", "typ": "JWT"},
                         dict(claims, iat=now - 7200, nbf=now - 7200, exp=now - 3600), key),
        "alg none": f"{none}.{c}.",
        "alg none, signature kept": f"{none}.{c}.{s}",
        "another key": _sign({"alg": "HS256", "typ": "JWT"}, claims, os.urandom(32)),
        "tampered roles": f"{h}.{_b64(json.dumps(dict(claims, roles=['admin'])).encode())}.{s}",
        "tampered signature": f"{h}.{c}.{s[:-4]}AAAA",
        "HS512": _sign({"alg": "HS512", "typ": "JWT"}, claims, key),
        "not a JWT": "hello",
    }
    for what, token in forged.items():
        r = ctld.get("/api/v1/roles", token=token)
        assert r.status_code == 401, (what, r.status_code, r.text)
        assert is_problem(r)
    # the same claims signed with the right key still work (the test is sound)
    assert ctld.get("/api/v1/roles",
                    token=_sign({"alg": "HS256", "typ": "JWT"}, claims, key)).status_code == 200


def test_login_refusals_are_401(ctld):
    # a name no user may have (the users table's own rule refuses it) is an unknown user
    for name in ("Not A Valid Name!", "user-operator"):
        r = ctld.post("/api/v1/auth/login", json={"username": name, "password": "wrong-" + PASSWORD})
        assert r.status_code == 401, (name, r.status_code, r.text)


def test_refresh_rotates_and_reuse_revokes(ctld):
    t = ctld.login("user-operator", PASSWORD)
    r = ctld.post("/api/v1/auth/refresh", json={"refresh_token": t["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    r = ctld.post("/api/v1/auth/refresh", json={"refresh_token": t["refresh_token"]})
    assert r.status_code == 401
    r = ctld.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401, "reuse of a rotated token revokes the family"


def test_api_keys(ctld, admin, role_tokens):
    # a key holds a subset of its creator's roles
    r = ctld.post("/api/v1/keys", token=role_tokens["read-only"],
                  json={"name": "too-much", "roles": ["admin"]})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = ctld.post("/api/v1/keys", token=role_tokens["read-only"],
                  json={"name": "billing-feed", "roles": ["read-only"]})
    assert r.status_code == 201, r.text
    key = r.json()
    secret = key["secret"]
    assert secret.startswith("cuco_")
    assert ctld.get("/api/v1/roles", token=secret).status_code == 200
    assert ctld.get("/api/v1/users", token=secret).status_code == 403
    listed = ctld.get("/api/v1/keys", token=admin).json()
    assert all("secret" not in k for k in listed)
    r = ctld.post(f"/api/v1/keys/{key['id']}/rotate", token=admin)
    assert r.status_code == 201
    assert ctld.get("/api/v1/roles", token=secret).status_code == 401
    new_secret = r.json()["secret"]
    assert ctld.get("/api/v1/roles", token=new_secret).status_code == 200
    assert ctld.delete(f"/api/v1/keys/{r.json()['id']}", token=admin).status_code == 204
    assert ctld.get("/api/v1/roles", token=new_secret).status_code == 401


# ------------------------------------------------- idempotency and If-Match
def test_idempotent_post_replayed_20_times_writes_once(ctld, admin):
    before = user_count(ctld, admin)
    body = {"name": "idem-user", "roles": ["support"], "password": PASSWORD}
    key = str(uuid.uuid4())

    def post(_):
        return ctld.post("/api/v1/users", token=admin, json=body,
                         headers={"Idempotency-Key": key})
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(post, range(20)))
    ok = [r for r in answers if r.status_code == 201]
    assert ok, [(r.status_code, r.text) for r in answers]
    assert len({r.json()["id"] for r in ok}) == 1
    assert all(r.status_code in (201, 409) for r in answers)
    assert sum(1 for r in answers if r.headers.get("Idempotent-Replayed") == "true") >= len(ok) - 1
    assert user_count(ctld, admin) == before + 1
    # the same key with another body is refused
    r = ctld.post("/api/v1/users", token=admin, json=dict(body, name="other"),
                  headers={"Idempotency-Key": key})
    assert r.status_code == 422 and r.json()["code"] == "idempotency-key-reused"


def test_stale_if_match_is_412(ctld, admin):
    r = ctld.post("/api/v1/users", token=admin,
                  json={"name": "etag-user", "roles": ["support"], "password": PASSWORD})
    uid = r.json()["id"]
    r = ctld.get(f"/api/v1/users/{uid}", token=admin)
    etag = r.headers["ETag"]
    assert ctld.get(f"/api/v1/users/{uid}", token=admin,
                    headers={"If-None-Match": etag}).status_code == 304
    r = ctld.patch(f"/api/v1/users/{uid}", token=admin, json={"display_name": "One"},
                   headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] != etag
    # the answer is what was stored: the row is written with the COMMIT, not read back
    patched = r.json()
    assert ctld.get(f"/api/v1/users/{uid}", token=admin).json() == patched
    assert r.headers["ETag"] == ctld.get(f"/api/v1/users/{uid}", token=admin).headers["ETag"]
    r = ctld.patch(f"/api/v1/users/{uid}", token=admin, json={"display_name": "Two"},
                   headers={"If-Match": etag})
    assert r.status_code == 412 and r.json()["code"] == "stale-version"
    assert ctld.get(f"/api/v1/users/{uid}", token=admin).json()["display_name"] == "One"


def test_patch_keeps_a_change_made_elsewhere(ctld, admin):
    """A display name is patched from the row controld saw last, written only
    if the row is still at that version: a change another writer committed
    meanwhile (here by SQL, as a second controld on the database would) is
    kept, and the patch applies on top of it."""
    r = ctld.post("/api/v1/users", token=admin,
                  json={"name": "hint-user", "roles": ["support"], "password": PASSWORD})
    uid = r.json()["id"]
    for name in ("One", "Two"):
        r = ctld.patch(f"/api/v1/users/{uid}", token=admin, json={"display_name": name})
        assert r.status_code == 200, r.text
    assert r.json()["version"] == 3
    assert ctld.get(f"/api/v1/users/{uid}", token=admin).json() == r.json()
    cucoctld.psql(ctld.db_url,
                  "BEGIN; UPDATE security.users SET display_name = 'Elsewhere',"
                  f" roles = ARRAY['operator'], version = 4 WHERE id = '{uid}';"
                  " INSERT INTO security.outbox (event_id, type, schema_version,"
                  " aggregate_type, aggregate_id, aggregate_version, payload) VALUES"
                  " (gen_random_uuid(), 'security.user.updated', 1, 'user',"
                  f" '{uid}', 4, '{{}}'); COMMIT")
    r = ctld.patch(f"/api/v1/users/{uid}", token=admin, json={"display_name": "Three"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["version"], got["display_name"], got["roles"]) == (5, "Three", ["operator"])
    assert ctld.get(f"/api/v1/users/{uid}", token=admin).json() == got
    events = cucoctld.psql(ctld.db_url,
                           "SELECT string_agg(aggregate_version::text, ',' ORDER BY pos)"
                           f" FROM security.outbox WHERE aggregate_id = '{uid}'")
    assert events == "1,2,3,4,5"
    # deleted meanwhile (by hand, without the event a delete writes): the row
    # this process saw last is no reason to write
    cucoctld.psql(ctld.db_url, f"DELETE FROM security.users WHERE id = '{uid}'")
    r = ctld.patch(f"/api/v1/users/{uid}", token=admin, json={"display_name": "Four"})
    assert r.status_code == 404, r.text


def test_pagination_and_fields(ctld, admin, role_tokens):
    r = ctld.get("/api/v1/users?limit=2&offset=1&fields=name", token=admin)
    assert r.status_code == 200
    assert int(r.headers["X-Result-Count"]) == len(r.json()) == 2
    assert int(r.headers["X-Total-Count"]) >= 7
    assert 'rel="next"' in r.headers["Link"] and 'rel="prev"' in r.headers["Link"]
    for u in r.json():
        assert set(u) <= {"id", "href", "@type", "name"}
    assert ctld.get("/api/v1/users?limit=-1", token=admin).status_code == 400
    r = ctld.get("/api/v1/users?role=self-care", token=admin)
    assert [u["name"] for u in r.json()] == ["user-self-care"]


def test_versions(ctld, admin):
    ok = ctld.get("/api/v1/roles", token=admin,
                  headers={"Accept": "application/vnd.a1.cuco.v1+json"})
    assert ok.status_code == 200
    r = ctld.get("/api/v1/roles", token=admin,
                 headers={"Accept": "application/vnd.a1.cuco.v9+json"})
    assert r.status_code == 406 and is_problem(r)
    assert ctld.get("/api/v1/roles?version=1", token=admin).status_code == 200
    r = ctld.get("/api/v1/roles?version=9", token=admin)
    assert r.status_code == 400 and is_problem(r)


# ------------------------------------------------------------------ audit
def test_forged_pending_audit_record_is_detected(ctld, admin):
    """Records wait in audit_pending, each with its own MAC, until the chainer
    links them: one forged there (without the audit key) is never chained,
    and verification says so."""
    cucoctld.psql(ctld.db_url,
                  "INSERT INTO security.audit_pending (id, at_us, subject, name, remote,"
                  " action, target, outcome, details, traceparent, mac) VALUES (42, 0,"
                  " 'user:forged', 'forged', '', 'security.login', '', 'success', '{}', '',"
                  " decode(repeat('00', 32), 'hex'))")
    try:
        rep = ctld.get("/api/v1/audit/verify", token=admin).json()
        assert rep["ok"] is False and rep["problem"] == "pending-mac-mismatch", rep
        records = ctld.get("/api/v1/audit?limit=1000", token=admin).json()
        assert not [r for r in records if r["subject"] == "user:forged"]
    finally:
        cucoctld.psql(ctld.db_url, "DELETE FROM security.audit_pending WHERE id = 42")
    assert ctld.get("/api/v1/audit/verify", token=admin).json()["ok"] is True


def test_audit_tampering_is_detected(ctld, admin):
    assert ctld.get("/api/v1/audit/verify", token=admin).json()["ok"] is True
    conf = str(ctld.root / "controld.conf")
    verify = [str(cucoctld.binary()), "-c", conf, "audit", "verify"]
    r = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    records = ctld.get("/api/v1/audit?limit=1000", token=admin).json()
    victim = records[len(records) // 2]["seq"]
    # a superuser with psql, past the append-only trigger
    cucoctld.psql(ctld.db_url,
                  "ALTER TABLE security.audit_log DISABLE TRIGGER USER; "
                  f"UPDATE security.audit_log SET outcome = 'failure' WHERE seq = {victim}; "
                  "ALTER TABLE security.audit_log ENABLE TRIGGER USER;")
    r = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"record {victim}" in r.stdout
    rep = ctld.get("/api/v1/audit/verify", token=admin).json()
    assert rep["ok"] is False and rep["bad_seq"] == victim


# ------------------------------------------------------- logs and shutdown
def test_logs_are_json_with_trace_ids(ctld, admin):
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    r = ctld.get("/api/v1/roles", token=admin, headers={"traceparent": tp})
    assert r.headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(rec.get("trace_id") == "4bf92f3577b34da6a3ce929d0e0e4736"
               for rec in ctld.log_records()):
            break
        time.sleep(0.1)
    else:
        pytest.fail("no log line carries the request's trace id")
    lines = [line for line in ctld.log_text().splitlines() if line.strip()]
    bad = [line for line in lines if not line.startswith("{")]
    assert not bad, bad[:5]


def test_sigterm_drains_requests_in_flight(ctld):
    """A login (argon2id: slow on purpose) started before SIGTERM completes."""
    result = {}

    def login():
        result["r"] = ctld.post("/api/v1/auth/login",
                                json={"username": "user-support", "password": PASSWORD})
    t = threading.Thread(target=login)
    t.start()
    time.sleep(0.05)
    rc = ctld.stop_controld(signal.SIGTERM)
    t.join(30)
    assert rc == 0
    assert result["r"].status_code == 200
    ctld.start_controld()
    assert ctld.get("/readyz").status_code == 200
