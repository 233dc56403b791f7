"""The usage collector of a real cuco-controld against a usage publisher the
test controls (a ZeroMQ PUB on an ipc:// path standing in for a
dataplane's): messages delivered twice, old ones, missed ones, a deleted
subscriber's final counters, a re-added one, a new boot id and garbage.
Usage rows must count every byte once (read back through TMF635 and SQL).

The fake dataplane's agent endpoint answers nobody: the network domain's
provisioner just finds its circuit open, which the collector ignores.
"""

import json
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import zmq

import cucoctld

DIR = Path(tempfile.mkdtemp(prefix="cuco-usage-replay-"))
USAGE = f"ipc://{DIR}/usage.sock"
AGENT = f"ipc://{DIR}/agent.sock"
TMF635 = "/tmf-api/usageManagement/v4"
SVC = "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9"
SENTINEL = "5e5e5e5e-4f50-4617-8283-94a5b6c7d8e9"
T0 = 1764000000000


def wait_for(what, fn, timeout):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.05)


class Publisher:
    """The test's dataplane: a PUB bound where the collector connects."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.bind(USAGE)
        self.sentinel = 0
        self.sentinel_seq = 10_000

    def send(self, boot, seq, subs, final=False, t=None):
        m = {"v": 1, "type": "usage", "boot_id": boot, "seq": seq, "generation": 1,
             "time_ms": t or T0 + seq * 1000, "part": 0, "last": True,
             "subscribers": [{"id": sid, "up": {"packets": bu // 100, "bytes": bu},
                              "down": {"packets": bd // 100, "bytes": bd}}
                             for sid, bu, bd in subs]}
        if final:
            m["final"] = True
        self.pub.send(json.dumps(m).encode())

    def raw(self, data):
        self.pub.send(data)

    def close(self):
        self.pub.close()
        self.ctx.term()


def sums(ctld, sid):
    out = cucoctld.psql(ctld.db_url, "SELECT coalesce(sum(bytes_up), 0), "
                        "coalesce(sum(bytes_down), 0), count(*) FROM billing.usage "
                        f"WHERE service_id = '{sid}'")
    return tuple(int(x) for x in out.split("|"))


@pytest.fixture(scope="module")
def env(ctld):
    pub = None
    try:
        token = ctld.admin_token()
        r = ctld.post("/api/v1/dataplanes", token=token,
                      json={"name": "fake", "endpoint": AGENT, "usage_endpoint": USAGE})
        assert r.status_code == 201, r.text
        assert r.json()["usage_endpoint"] == USAGE
        pub = Publisher()
        yield {"token": token, "pub": pub, "ctld": ctld}
    finally:
        if pub is not None:
            pub.close()
        shutil.rmtree(DIR, ignore_errors=True)


def barrier(env):
    """Everything published before is applied: a sentinel service's counter
    grows in a later message of another boot, and ZeroMQ keeps order."""
    pub = env["pub"]
    pub.sentinel += 1
    pub.sentinel_seq += 1
    want = pub.sentinel
    pub.send("sentinel", pub.sentinel_seq, [(SENTINEL, want, 0)])
    wait_for("the sentinel's usage", lambda: sums(env["ctld"], SENTINEL)[0] == want, 10)


def test_the_collector_learns_the_endpoint_and_counts_a_first_message(env):
    pub, ctld = env["pub"], env["ctld"]
    # the collector connects once the consumer saw the registration: until
    # then the messages are lost, which duplicates of the same seq make up for
    deadline = time.monotonic() + 15
    while sums(ctld, SVC)[0] == 0:
        assert time.monotonic() < deadline, "no usage from the fake dataplane in 15 s"
        pub.send("boot1", 1, [(SVC, 1000, 5000)])
        time.sleep(0.1)
    barrier(env)
    assert sums(ctld, SVC) == (1000, 5000, 1)


def test_the_same_message_twice_counts_once(env):
    pub, ctld = env["pub"], env["ctld"]
    for _ in range(3):
        pub.send("boot1", 1, [(SVC, 1000, 5000)])
    pub.send("boot1", 2, [(SVC, 1500, 5000)])
    pub.send("boot1", 2, [(SVC, 1500, 5000)])
    barrier(env)
    assert sums(ctld, SVC) == (1500, 5000, 2)


def test_old_and_missed_messages(env):
    pub, ctld = env["pub"], env["ctld"]
    pub.send("boot1", 1, [(SVC, 1000, 5000)])          # old
    pub.send("boot1", 6, [(SVC, 2500, 5600)])          # 3, 4, 5 missed
    barrier(env)
    assert sums(ctld, SVC) == (2500, 5600, 3)


def test_final_counters_then_readded_from_zero(env):
    pub, ctld = env["pub"], env["ctld"]
    pub.send("boot1", 7, [(SVC, 2600, 5600)], final=True)
    pub.send("boot1", 7, [(SVC, 2600, 5600)], final=True)  # delivered twice
    pub.send("boot1", 8, [(SVC, 40, 0)])                  # added again: from zero
    barrier(env)
    assert sums(ctld, SVC)[:2] == (2640, 5600)


def test_backwards_without_final_is_a_reset(env):
    pub, ctld = env["pub"], env["ctld"]
    pub.send("boot1", 12, [(SVC, 10, 3)])
    barrier(env)
    assert sums(ctld, SVC)[:2] == (2650, 5603)
    resets = cucoctld.psql(ctld.db_url, "SELECT resets FROM billing.usage_boots WHERE "
                           "dataplane = 'fake' AND boot_id = 'boot1'")
    assert resets == "1"


def test_new_boot_and_the_old_boot_replayed(env):
    pub, ctld = env["pub"], env["ctld"]
    pub.send("boot2", 1, [(SVC, 70, 30)])
    pub.send("boot1", 12, [(SVC, 10, 3)])   # the old boot's last message again
    pub.send("boot1", 6, [(SVC, 2500, 5600)])
    barrier(env)
    assert sums(ctld, SVC)[:2] == (2720, 5633)


def test_garbage_is_refused_and_the_collector_goes_on(env):
    pub, ctld = env["pub"], env["ctld"]
    for junk in (b"", b"not json", b'{"v":1,"type":"usage"}', b"\xff" * 100,
                 json.dumps({"v": 1, "type": "usage", "boot_id": "boot2", "seq": 9,
                             "time_ms": T0, "subscribers": [
                                 {"id": SVC, "up": {"bytes": -5, "packets": 0},
                                  "down": {"bytes": 0, "packets": 0}}]}).encode()):
        pub.raw(junk)
    pub.send("boot2", 2, [(SVC, 100, 30)])
    barrier(env)
    assert sums(ctld, SVC)[:2] == (2750, 5633)
    assert "message refused" in ctld.log_text()


def test_tmf635_usage_matches_the_table(env):
    ctld, token = env["ctld"], env["token"]
    r = ctld.get(f"{TMF635}/usage", token=token, params={"serviceId": SVC, "limit": 1000})
    assert r.status_code == 200, r.text
    items = r.json()
    assert int(r.headers["X-Total-Count"]) == len(items) == sums(ctld, SVC)[2]

    def char(u, name):
        return [c["value"] for c in u["usageCharacteristic"] if c["name"] == name][0]
    assert sum(char(u, "bytesUp") for u in items) == 2750
    assert sum(char(u, "bytesDown") for u in items) == 5633
    assert all(u["usageSpecification"]["id"] == "data-volume" for u in items)
    one = ctld.get(items[0]["href"], token=token)
    assert one.status_code == 200 and one.json()["id"] == items[0]["id"]
    # date filters: every record of T0's day, none after
    r = ctld.get(f"{TMF635}/usage", token=token,
                 params={"serviceId": SVC, "usageDate.gte": "2025-11-24",
                         "usageDate.lt": "2025-11-25"})
    assert r.status_code == 200 and int(r.headers["X-Total-Count"]) == len(items)
    r = ctld.get(f"{TMF635}/usage", token=token,
                 params={"serviceId": SVC, "usageDate.gte": "2030-01-01"})
    assert r.status_code == 200 and r.json() == []
    r = ctld.get(f"{TMF635}/usage", token=token, params={"serviceId": "x"})
    assert r.status_code == 400, r.text
    r = ctld.get(f"{TMF635}/usage", token=token, params={"customer": "x"})
    assert r.status_code == 400 and r.json()["code"] == "unknown-filter", r.text
    assert ctld.get(f"{TMF635}/usage/{uuid.uuid4()}", token=token).status_code == 404
    r = ctld.get(f"{TMF635}/usageSpecification", token=token)
    assert r.status_code == 200 and [s["id"] for s in r.json()] == ["data-volume"]
    assert ctld.get(f"{TMF635}/usage").status_code == 401


def test_removed_dataplane_is_no_longer_collected(env):
    pub, ctld, token = env["pub"], env["ctld"], env["token"]
    r = ctld.delete("/api/v1/dataplanes/fake", token=token)
    assert r.status_code == 204, r.text
    wait_for("the source gone", lambda: cucoctld.psql(
        ctld.db_url, "SELECT count(*) FROM billing.usage_sources") == "0", 10)
    time.sleep(1.5)  # the collector reloads its sources every second
    before = sums(ctld, SVC)
    pub.send("boot2", 3, [(SVC, 9000, 9000)])
    time.sleep(1.0)
    assert sums(ctld, SVC) == before


def test_registered_again_is_collected_again(env):
    pub, ctld, token = env["pub"], env["ctld"], env["token"]
    r = ctld.post("/api/v1/dataplanes", token=token,
                  json={"name": "fake", "endpoint": AGENT, "usage_endpoint": USAGE})
    assert r.status_code == 201, r.text
    before = sums(ctld, SVC)
    deadline = time.monotonic() + 15
    while sums(ctld, SVC)[0] == before[0]:
        assert time.monotonic() < deadline, "not collected again within 15 s"
        pub.send("boot2", 4, [(SVC, 9100, 9000)])
        time.sleep(0.1)
    barrier(env)
    assert sums(ctld, SVC)[:2] == (before[0] + 9000, before[1] + 8970)
