#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Order workload of scripts/bench --orders: N TMF622 product orders, end to
end, from the REST gateway to enforcement in a real fast path.

    orders.py run --dir DIR --prefix P --orders N [--connections C]
                  [--offerings LIST] [--wait S]
    orders.py stop-leftover DIR

'run' builds, all named after P and living in DIR:

  - a lab (tests/integration/cucolab.py): namespaces P-cust, P-edge, P-up
    and cuco-dataplane in P-edge (CUCO_DATAPLANE or the build's), its
    agent on ipc://DIR/orders/agent.sock, subscribers-max at least N + 16;
  - a private PostgreSQL cluster and cuco-controld on it
    (tests/integration/cucoctld.py; CUCO_CONTROLD or the build's) in the
    host's namespace, rate limits out of the way (as the --api bench),
    provision-timeout 600 (the saga's network steps never time out in the
    bench: an order that cannot be enforced shows as not completed).

Set-up, not timed: log in as admin, the lab's seed data
(tests/integration/cucoseed.py: offerings, profiles, prices), N/5
customers (at least 1) registered through the API (TMF632 individual +
TMF629 customer, from C threads), the dataplane registered as "edge"
(POST /api/v1/dataplanes) and synced, the IPv6 pool "bench6"
(2001:db8:4000::/48 lent as /64s: 65536 of them; /46 above 65536 orders),
and one warm-up order, completed, that is not counted.

Measured: C client threads (one HTTP keep-alive session each) place the N
orders as fast as they are accepted: POST .../productOrder of one item,
action add of the offering (round robin over --offerings, default
"Fiber 20"), productCharacteristic prefixPool "bench6", no inventory;
order i for customer i mod (N/5). Then it waits, polling the order
domain's table, until every order is final (completed, failed, partial,
cancelled), or no order changed state for 180 s, or --wait s (default
the larger of 1800 and 2 N) passed.

Reported, with the machine's load average:

  accepted   orders accepted per second: N / (last 201 - first POST),
             the POSTs' latency (p50, p99, max) and any answer not 201
  completed  orders completed per second: completed / (last completed_at
             - first created_at, both from the database's clock)
  latency    order-to-enforcement: the network.service.provision step's
             finished_at minus the order's created_at ("order".saga_steps,
             "order".orders), p50, p90, p99 and max over the completed
             orders, in SQL; beside it the same for the whole saga (to
             completed_at), and each step's median wait before it started
             and its median duration, which tells where the time goes
  metrics    /metrics: cuco_orders{state} and the histogram
             cuco_order_enforcement_seconds over the window (count must be
             the completed orders; its mean against the SQL mean: the
             histogram takes the time at its own statement, the step's
             finished_at is its transaction's start, so the histogram's is
             a little higher)
  checks     orders per state if not all completed (and the first saga
             failures); the dataplane's subscribers, read from its agent
             (ZeroMQ, paged by 10000): each completed order's service is
             there with exactly the prefix the network domain lent it;
             each completed order has one service in the network domain,
             one active billing plan and one notification
  cpu        CPU time per order of controld, of the PostgreSQL cluster
             (the postmaster, its backends, those it reaped) and of this
             client, over the same window: less sensitive to a busy machine
             than the rates; and per order the database's commits
             (pg_stat_database, the bench's own polls included: 2 a second),
             WAL syncs and WAL bytes (pg_stat_wal); the same measured
             over 5 s before the orders, as a baseline (per second: the
             domains' pollers, and consumers still applying the set-up's
             events)
  rows       rows inserted, updated or deleted per order, by schema
             (pg_stat_user_tables, read 11 s after the last order: the
             backends report their counters late)

There is no reference run: nothing else turns a TMF622 order into the same
enforcement (a reservation, a billing plan, a subscriber in the fast path,
an activation, a notification), and pgbench doing as many single-row
transactions would not be the same work. The bench gives absolute figures.

'stop-leftover' stops the controld, the cluster and the lab a killed bench
left in DIR. The bench measures and reports; it does not judge the
figures. Exit status 0, or 1 when it could not measure (a message on
stderr). Needs root (network namespaces), Debian's python3 (requests, zmq).
"""

import argparse
import json
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import requests  # noqa: E402

import cucoctld  # noqa: E402
import cucolab  # noqa: E402
import cucoseed  # noqa: E402

TMF = "/tmf-api/productOrderingManagement/v4"
OFFERINGS = "/tmf-api/productCatalogManagement/v4/productOffering"
IND = "/tmf-api/party/v4/individual"
CUST = "/tmf-api/customerManagement/v4/customer"
FINAL = ("completed", "failed", "partial", "cancelled")
STATES = ("acknowledged", "inProgress") + FINAL
POOL = "bench6"
PROVISION_TIMEOUT = 600
STALL_S = 180
CONFIG_EXTRA = ("rate-limit token 1000000 1000000\n"
                "rate-limit address 1000000 1000000\n"
                "token-lifetime 3600\n"
                f"provision-timeout {PROVISION_TIMEOUT}\n")
PAGE = 10000
IDLE_S = 5


class Failed(Exception):
    pass


class Stop(BaseException):
    """SIGTERM or SIGHUP: unwind and clean up, like Ctrl-C."""


def on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


def say(*a):
    print(*a, flush=True)


def warn(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def pct(xs, p):
    """The p-th percentile of sorted xs (nearest rank), None when empty."""
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, math.ceil(p / 100 * len(xs)) - 1))
    return xs[k]


def ms(x):
    return "-" if x is None else f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"


def cpu_seconds(pid, children=False):
    """CPU time (user + system) of process @pid so far, with its reaped
    children's when @children; 0 when it is gone."""
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(st[1]) == pid:
                out.append(int(d))
    return out


def pool_prefix(n):
    # one /64 per order, the warm-up's and a few spare: /48 holds 65536
    return "2001:db8:4000::/48" if n + 16 <= 65536 else "2001:db8:4000::/46"


def lab_memory_mb(n):
    # the subscriber tables grow by about 3.3 KiB a slot (docs/PERFORMANCE.md)
    return max(cucolab.DEFAULT_MEMORY_MB, 1024 + (n + 16) * 12 // 1024)


class Bench:
    def __init__(self, args):
        self.a = args
        self.dir = Path(args.dir) / "orders"
        self.agent = f"ipc://{self.dir}/agent.sock"
        self.lab = None
        self.ctl = None
        self.token = None
        self.offerings = {}
        self.customers = []

    # ---------------------------------------------------------------- helpers
    def sql(self, text):
        return cucoctld.psql(self.ctl.db_url, text)

    def rows(self, text):
        out = self.sql(text)
        return [line.split("|") for line in out.splitlines() if line]

    def api(self, method, path, want=(200, 201), **kw):
        r = self.ctl.request(method, path, token=self.token, **kw)
        if r.status_code not in want:
            raise Failed(f"{method} {path}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None

    def cpu(self):
        """CPU seconds so far: controld; the PostgreSQL cluster (postmaster
        with the backends it reaped, and those still running); this client."""
        pg = 0.0
        try:
            pm = int((self.ctl.pgdir / "data" / "postmaster.pid").read_text().split()[0])
            pg = cpu_seconds(pm, children=True) + sum(cpu_seconds(c) for c in children_of(pm))
        except (OSError, ValueError, IndexError):
            pass
        t = os.times()
        commits, syncs, wal = self.rows(
            "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = "
            "current_database()), wal_sync, wal_bytes FROM pg_stat_wal")[0]
        rows = {k: int(v) for k, v in self.rows(
            "SELECT schemaname, sum(n_tup_ins + n_tup_upd + n_tup_del) "
            "FROM pg_stat_user_tables GROUP BY schemaname")}
        return {"controld": cpu_seconds(self.ctl.proc.pid), "postgres": pg,
                "client": t.user + t.system, "commits": int(commits),
                "wal_sync": int(syncs), "wal_bytes": int(wal), "rows": rows}

    def metrics(self):
        """The order domain's /metrics lines: name{labels} -> value."""
        out = {}
        r = self.ctl.get("/metrics", token=self.token)
        if r.status_code != 200:
            raise Failed(f"GET /metrics: {r.status_code} {r.text[:300]}")
        for line in r.text.splitlines():
            if line.startswith("cuco_order"):
                k, _, v = line.rpartition(" ")
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out

    def run_threads(self, n_threads, jobs, fn):
        """fn(session, job) over jobs from n_threads threads; the results in
        job order. A thread's exception stops the others and is raised."""
        results = [None] * len(jobs)
        lock = threading.Lock()
        nxt = [0]
        errors = []

        def worker():
            s = requests.Session()
            s.headers["Authorization"] = f"Bearer {self.token}"
            try:
                while not errors:
                    with lock:
                        i = nxt[0]
                        nxt[0] += 1
                    if i >= len(jobs):
                        return
                    results[i] = fn(s, jobs[i])
            except Exception as e:  # noqa: BLE001 (reported by the caller)
                errors.append(e)
            finally:
                s.close()

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            # bounded: every request has its own timeout
            while t.is_alive():
                t.join(0.5)
        if errors:
            raise errors[0]
        return results

    # ------------------------------------------------------------------ setup
    def setup(self):
        a = self.a
        self.dir.mkdir(parents=True, exist_ok=True)
        # what stop-leftover needs to find the lab
        (self.dir / "prefix").write_text(a.prefix + "\n")
        extra = [f"agent {self.agent}"]
        if a.orders + 16 > 16384:
            extra.append(f"subscribers-max {a.orders + 16}")
        self.lab = cucolab.Lab(a.prefix, state_root=self.dir / "lab", config_extra=extra,
                               memory_mb=lab_memory_mb(a.orders), say=warn)
        self.lab.start()
        self.ctl = cucoctld.Controld(self.dir / "ctl", config_extra=CONFIG_EXTRA)
        self.ctl.start()
        self.token = self.ctl.admin_token()
        cucoseed.seed(self.ctl.url, self.token)
        self.offerings = {o["name"]: o["id"]
                          for o in self.api("GET", f"{OFFERINGS}?limit=100")}
        missing = [o for o in a.offerings if o not in self.offerings]
        if missing:
            raise Failed(f"no offering {', '.join(missing)} in the seed data "
                         f"(there are {', '.join(sorted(self.offerings))})")
        self.api("POST", "/api/v1/dataplanes", json={"name": "edge", "endpoint": self.agent})
        self.api("POST", "/api/v1/pools",
                 json={"name": POOL, "prefix": pool_prefix(a.orders), "length": 64})
        deadline = time.monotonic() + 30
        while self.api("GET", "/api/v1/dataplanes")[0]["state"] != "synced":
            if time.monotonic() > deadline:
                raise Failed("the dataplane was not synced within 30 s: "
                             + json.dumps(self.api("GET", "/api/v1/dataplanes")[0]))
            time.sleep(0.1)
        n_cust = max(1, a.orders // 5)
        t0 = time.monotonic()
        self.customers = self.run_threads(a.connections, list(range(n_cust)), self.register)
        say(f"bench: set-up: {n_cust} customers registered in "
            f"{time.monotonic() - t0:.1f} s ({a.connections} threads)")
        # one order, of a customer of its own, through the whole saga before
        # the clock starts
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {self.token}"
        try:
            self.warm_customer = self.register(s, n_cust)
            code, body, _ = self.place(s, -1)
        finally:
            s.close()
        if code != 201:
            raise Failed(f"the warm-up order was refused: {code} {body}")
        self.warmup_id = body
        deadline = time.monotonic() + 60
        while (st := self.sql(f"SELECT state FROM \"order\".orders "
                              f"WHERE id = '{self.warmup_id}'")) not in FINAL:
            if time.monotonic() > deadline:
                raise Failed(f"the warm-up order is still {st} after 60 s")
            time.sleep(0.1)
        if st != "completed":
            raise Failed(f"the warm-up order ended {st}: "
                         + json.dumps(self.api("GET", f"/api/v1/orders/{self.warmup_id}/saga")))

    def register(self, s, i):
        """Customer i: a party (TMF632) and the customer (TMF629)."""
        url = self.ctl.url
        r = s.post(url + IND, json={"givenName": "Bench", "familyName": f"Customer {i:06d}"},
                   timeout=30)
        if r.status_code != 201:
            raise Failed(f"POST {IND}: {r.status_code} {r.text[:300]}")
        r = s.post(url + CUST, timeout=30, json={
            "engagedParty": {"id": r.json()["id"], "@referredType": "Individual"},
            "status": "active",
            "contactMedium": [{"mediumType": "email", "characteristic": {
                "contactType": "primary", "emailAddress": f"bench-{i:06d}@example.org"}}]})
        if r.status_code != 201:
            raise Failed(f"POST {CUST}: {r.status_code} {r.text[:300]}")
        return r.json()["id"]

    # ---------------------------------------------------------------- measure
    def place(self, s, i):
        """Order i (-1: the warm-up); (status, order id or error text, seconds)."""
        offers = self.a.offerings
        name = offers[i % len(offers)] if i >= 0 else offers[0]
        cust = self.customers[i % len(self.customers)] if i >= 0 else self.warm_customer
        body = {"description": f"bench order {i}",
                "relatedParty": [{"id": cust, "role": "customer", "@referredType": "Customer"}],
                "productOrderItem": [{
                    "id": "1", "action": "add",
                    "productOffering": {"id": self.offerings[name]},
                    "product": {"productCharacteristic": [
                        {"name": "prefixPool", "value": POOL}]}}]}
        t0 = time.monotonic()
        try:
            r = s.post(self.ctl.url + f"{TMF}/productOrder", json=body, timeout=60)
        except requests.RequestException as e:
            return (0, f"{type(e).__name__}: {e}", time.monotonic() - t0)
        dt = time.monotonic() - t0
        if r.status_code == 201:
            return (201, r.json()["id"], dt)
        return (r.status_code, r.text[:200], dt)


    def wait_final(self, ids):
        """Poll until every order of ids is final, stalled or past --wait."""
        start = time.monotonic()
        last_change, last = start, None
        # the ids go into a table of the bench's own, once: the queries join it
        self.sql("CREATE TABLE public.bench_orders (id uuid PRIMARY KEY); "
                 "INSERT INTO public.bench_orders VALUES "
                 + ",".join(f"('{i}')" for i in ids))
        while True:
            counts = dict(self.rows(
                "SELECT o.state, count(*) FROM \"order\".orders o "
                "JOIN public.bench_orders b USING (id) GROUP BY o.state"))
            counts = {k: int(v) for k, v in counts.items()}
            final = sum(v for k, v in counts.items() if k in FINAL)
            now = time.monotonic()
            if counts != last:
                last, last_change = counts, now
            if final == len(ids):
                return counts, now - start, None
            if now - last_change > STALL_S:
                return counts, now - start, f"no order changed state for {STALL_S} s"
            if now - start > self.a.wait:
                return counts, now - start, f"--wait {self.a.wait} s passed"
            time.sleep(0.5)

    def agent_subscribers(self):
        """Every subscriber of the dataplane, read from its agent by pages."""
        import zmq
        ctx = zmq.Context()
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.agent)
        subs, seq, total = [], 0, None
        try:
            while total is None or len(subs) < total:
                seq += 1
                sock.send(json.dumps({"v": 1, "seq": seq, "op": "get", "offset": len(subs),
                                      "limit": PAGE}).encode())
                if not sock.poll(30000):
                    raise Failed("the dataplane's agent did not answer 'get' within 30 s")
                rep = json.loads(sock.recv())
                if not rep.get("ok"):
                    raise Failed(f"the agent refused 'get': {rep.get('error')}")
                total = rep["total"]
                page = rep["subscribers"]
                if not page:
                    break
                subs += page
        finally:
            sock.close()
            ctx.term()
        return subs, total

    def run(self):
        a = self.a
        say(f"bench: {a.orders} orders ({', '.join(a.offerings)}) from {a.connections} "
            f"client threads, end to end into the fast path; load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        self.setup()
        say(f"bench: lab {a.prefix} (cuco-dataplane in {self.lab.ns_edge}, agent "
            f"{self.agent}), cuco-controld on {self.ctl.url}, PostgreSQL "
            f"{self.sql('SHOW server_version')}, synchronous_commit "
            f"{self.sql('SHOW synchronous_commit')}, pool {POOL} {pool_prefix(a.orders)} "
            f"in /64s; warm-up order completed")
        # what the system costs without orders: the domains' pollers, and
        # consumers still applying the set-up's events
        idle0, ti = self.cpu(), time.monotonic()
        time.sleep(IDLE_S)
        idle1, ti = self.cpu(), time.monotonic() - ti
        say(f"before     {ti:.1f} s after the set-up, no order: controld "
            f"{(idle1['controld'] - idle0['controld']) * 100 / ti:.1f} % of a CPU, "
            f"PostgreSQL {(idle1['postgres'] - idle0['postgres']) * 100 / ti:.1f} %, "
            f"{(idle1['commits'] - idle0['commits']) / ti:.1f} commits/s, "
            f"{(idle1['wal_sync'] - idle0['wal_sync']) / ti:.1f} WAL syncs/s")
        m0 = self.metrics()
        cpu0 = self.cpu()
        load0 = os.getloadavg()
        t0 = time.monotonic()
        placed = self.run_threads(a.connections, list(range(a.orders)), self.place)
        t_accept = time.monotonic() - t0
        ok = [p for p in placed if p[0] == 201]
        bad = [p for p in placed if p[0] != 201]
        lat = sorted(p[2] for p in placed)
        say(f"accepted   {len(ok)}/{a.orders} orders in {t_accept:.2f} s: "
            f"{len(ok) / t_accept:.1f} orders/s (POST latency p50 {ms(pct(lat, 50))}, "
            f"p99 {ms(pct(lat, 99))}, max {ms(lat[-1])})")
        if bad:
            kinds = {}
            for code, text, _ in bad:
                kinds.setdefault(code, []).append(text)
            for code, texts in sorted(kinds.items()):
                say(f"           not accepted: {len(texts)} x "
                    f"{code or 'no answer'}: {texts[0][:160]}")
        if not ok:
            raise Failed("no order was accepted")
        ids = [p[1] for p in ok]
        counts, waited, why = self.wait_final(ids)
        t_all = time.monotonic() - t0
        cpu1 = self.cpu()
        load1 = os.getloadavg()
        m1 = self.metrics()
        self.report(ids, counts, waited, why, t_all, m0, m1, load0, load1)
        done = max(1, self.done)
        say("cpu        CPU time from the first POST to the last final order, per "
            f"{'completed ' if self.done else ''}order: "
            + ", ".join(f"{k} {(cpu1[k] - cpu0[k]) * 1000 / done:.1f} ms"
                        for k in ("controld", "postgres", "client"))
            + f" (of {t_all:.1f} s x {os.cpu_count()} CPUs); PostgreSQL: "
            f"{(cpu1['commits'] - cpu0['commits']) / done:.1f} commits, "
            f"{(cpu1['wal_sync'] - cpu0['wal_sync']) / done:.1f} WAL syncs, "
            f"{(cpu1['wal_bytes'] - cpu0['wal_bytes']) / done / 1024:.1f} KiB of WAL "
            "per order")
        # PostgreSQL reports a backend's table counters within a second of
        # its transactions, an idle one's within 10 s: wait for them
        time.sleep(11)
        rows1 = self.cpu()["rows"]
        moved = sorted(((v - cpu0["rows"].get(k, 0)) / done, k) for k, v in rows1.items())
        say("rows       written (inserted, updated, deleted) per order, by schema: "
            + ", ".join(f"{k} {v:.1f}" for v, k in reversed(moved) if v >= 0.05))

    # ----------------------------------------------------------------- report
    def report(self, ids, counts, waited, why, t_all, m0, m1, load0, load1):
        n = len(ids)
        done = self.done = counts.get("completed", 0)
        first, last, span = self.rows(
            "SELECT min(o.created_at), max(o.completed_at), "
            "extract(epoch FROM max(o.completed_at) - min(o.created_at)) "
            "FROM \"order\".orders o JOIN public.bench_orders b USING (id) "
            "WHERE o.state = 'completed'")[0] if done else (None, None, None)
        if done:
            span = float(span)
            say(f"completed  {done}/{n} orders in {span:.2f} s (first accepted "
                f"{first[11:23]}, last completed {last[11:23]}): "
                f"{done / span:.1f} orders/s")
        else:
            say(f"completed  0/{n} orders")
        state_line = ", ".join(f"{k} {counts[k]}" for k in STATES if counts.get(k))
        say(f"states     {state_line}"
            + (f" (waited {waited:.0f} s; stopped waiting: {why})" if why else
               f" (all final {waited:.1f} s after the last acceptance)"))
        if done:
            self.latency()
        self.metrics_report(m0, m1, done)
        self.check_dataplane(done)
        if done:
            self.check_once()
        if counts.get("completed", 0) != n:
            for oid, state, failure in self.rows(
                    "SELECT o.id, o.state, coalesce(s.failure, '') FROM \"order\".orders o "
                    "JOIN public.bench_orders b USING (id) JOIN \"order\".sagas s "
                    "ON s.order_id = o.id WHERE o.state <> 'completed' "
                    "ORDER BY o.created_at LIMIT 5"):
                say(f"           not completed: order {oid} {state} {failure[:160]}")
        say(f"load       average {' '.join(f'{x:.2f}' for x in load0)} before the orders, "
            f"{' '.join(f'{x:.2f}' for x in load1)} after; {os.cpu_count()} CPUs; "
            f"{t_all:.1f} s from the first POST to the last final order")

    def latency(self):
        q = """
WITH l AS (
  SELECT extract(epoch FROM p.finished_at - o.created_at) AS enf,
         extract(epoch FROM o.completed_at - o.created_at) AS whole
  FROM "order".orders o JOIN public.bench_orders b USING (id)
  JOIN "order".saga_steps p ON p.order_id = o.id AND p.command = 'network.service.provision'
  WHERE o.state = 'completed')
SELECT count(*), avg(enf),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY enf),
  percentile_cont(0.9) WITHIN GROUP (ORDER BY enf),
  percentile_cont(0.99) WITHIN GROUP (ORDER BY enf), max(enf), min(enf),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY whole),
  percentile_cont(0.99) WITHIN GROUP (ORDER BY whole), max(whole)
FROM l"""
        r = [float(x) for x in self.rows(q)[0]]
        self.sql_count, self.sql_mean = int(r[0]), r[1]
        say(f"latency    order to enforcement (provision step finished - order created, "
            f"{int(r[0])} orders): p50 {ms(r[2])}, p90 {ms(r[3])}, p99 {ms(r[4])}, "
            f"max {ms(r[5])} (min {ms(r[6])}, mean {ms(r[1])})")
        say(f"           order to completed (the whole saga): p50 {ms(r[7])}, "
            f"p99 {ms(r[8])}, max {ms(r[9])}")
        # where the time goes: each step's wait (since the previous step ended,
        # or the order was created) and its own duration, medians
        q = """
WITH s AS (
  SELECT st.seq, st.command, st.attempts,
    extract(epoch FROM st.started_at - coalesce(lag(st.finished_at) OVER w, o.created_at)) AS wait,
    extract(epoch FROM st.finished_at - st.started_at) AS run
  FROM "order".saga_steps st JOIN "order".orders o ON o.id = st.order_id
  JOIN public.bench_orders b ON b.id = o.id
  WHERE o.state = 'completed'
  WINDOW w AS (PARTITION BY st.order_id ORDER BY st.seq))
SELECT seq, command, percentile_cont(0.5) WITHIN GROUP (ORDER BY wait),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY run), max(attempts)
FROM s GROUP BY seq, command ORDER BY seq"""
        parts = []
        for seq, cmd, wait, run, att in self.rows(q):
            parts.append(f"{cmd} {ms(float(wait))} + {ms(float(run))}"
                         + (f" (attempts up to {att})" if int(att) > 1 else ""))
        say("steps      median wait before + duration of each step: " + "; ".join(parts))

    def metrics_report(self, m0, m1, done):
        def d(k):
            return m1.get(k, 0.0) - m0.get(k, 0.0)

        cnt = d("cuco_order_enforcement_seconds_count")
        tot = d("cuco_order_enforcement_seconds_sum")
        states = ", ".join("%s %.0f" % (s, m1.get('cuco_orders{state="%s"}' % s, 0))
                           for s in STATES)
        line = (f"metrics    cuco_orders now: {states} (the warm-up included); "
                f"cuco_order_enforcement_seconds over the window: count +{cnt:.0f}")
        if cnt:
            line += f", mean {ms(tot / cnt)}"
            if getattr(self, "sql_mean", None) is not None:
                line += f" (SQL: {ms(self.sql_mean)})"
            le1 = d('cuco_order_enforcement_seconds_bucket{le="1"}')
            line += f"; under 1 s: {le1:.0f}"
        line += " — matches the completed orders" if cnt == done else \
            f" — NOT the {done} completed orders"
        say(line)

    def check_dataplane(self, done):
        want = dict(self.rows(
            "SELECT s.id, s.prefixes::text FROM network.services s "
            "JOIN \"order\".orders o ON o.id::text = s.order_id "
            "JOIN public.bench_orders b ON b.id = o.id WHERE o.state = 'completed'"))
        subs, total = self.agent_subscribers()
        have = {s["id"]: s for s in subs}
        missing = wrong = 0
        example = None
        for sid, prefixes in want.items():
            s = have.get(sid)
            if s is None:
                missing += 1
                continue
            lent = sorted(json.loads(prefixes))
            got = sorted(s.get("match", {}).get("prefixes", []))
            if got != lent or s.get("availability") != "active":
                wrong += 1
                example = example or (sid, lent, s)
        ok = len(want) - missing - wrong
        say(f"dataplane  {total} subscribers (the warm-up's included); of the {done} "
            f"completed orders' services {ok} there, active, with their prefix"
            + (f"; {missing} missing" if missing else "")
            + (f"; {wrong} with another prefix or state, e.g. {example}" if wrong else "")
            + ("" if len(want) == done else f"; {len(want)} services in the inventory"))

    def check_once(self):
        """Each completed order: one service, one active plan, one notification."""
        q = """
SELECT count(*) FILTER (WHERE sv <> 1), count(*) FILTER (WHERE pl <> 1),
       count(*) FILTER (WHERE nt <> 1), sum(sv), sum(pl), sum(nt)
FROM (SELECT
  (SELECT count(*) FROM network.services s WHERE s.order_id = o.id::text) AS sv,
  (SELECT count(*) FROM billing.plans p WHERE p.order_id = o.id AND p.state = 'active') AS pl,
  (SELECT count(*) FROM customer.notifications n WHERE n.order_id = o.id
     AND n.kind = 'order.completed') AS nt
  FROM "order".orders o JOIN public.bench_orders b USING (id)
  WHERE o.state = 'completed') x"""
        bad_sv, bad_pl, bad_nt, sv, pl, nt = self.rows(q)[0]
        if (bad_sv, bad_pl, bad_nt) == ("0", "0", "0"):
            say(f"once       every completed order has one service ({sv}), one active "
                f"billing plan ({pl}), one notification ({nt})")
        else:
            say(f"once       NOT once: orders with other than one service {bad_sv}, "
                f"active plan {bad_pl}, notification {bad_nt} (totals {sv}, {pl}, {nt})")

    def stop(self):
        if self.ctl is not None:
            self.ctl.stop()
        if self.lab is not None:
            self.lab.stop()


def stop_leftover(d):
    d = Path(d) / "orders"
    cucoctld.stop_leftover(d / "ctl")
    try:
        prefix = (d / "prefix").read_text().strip()
    except OSError:
        return
    if cucolab.PREFIX_RE.match(prefix):
        cucolab.Lab(prefix, state_root=d / "lab", say=warn).cleanup_leftovers()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--prefix", required=True)
    r.add_argument("--orders", type=int, required=True)
    r.add_argument("--connections", type=int, default=8)
    r.add_argument("--offerings", default="Fiber 20",
                   help="comma-separated offering names, ordered round robin")
    r.add_argument("--wait", type=int, default=None,
                   help="bound on the wait for final states (default max(1800, 2 N) s)")
    s = sub.add_parser("stop-leftover")
    s.add_argument("dir")
    args = p.parse_args()
    if args.cmd == "stop-leftover":
        stop_leftover(args.dir)
        return 0
    if not cucolab.PREFIX_RE.match(args.prefix):
        p.error("--prefix: [a-z][a-z0-9]*, at most 31 characters")
    if not 1 <= args.orders <= 100000 or not 1 <= args.connections <= 64:
        p.error("--orders 1..100000, --connections 1..64")
    args.offerings = [o.strip() for o in args.offerings.split(",") if o.strip()]
    if args.wait is None:
        args.wait = max(1800, 2 * args.orders)
    if os.geteuid() != 0:
        warn("needs root (network namespaces)")
        return 1
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    b = Bench(args)
    try:
        b.run()
        return 0
    except (Failed, cucoctld.ControldError, cucolab.LabError, requests.RequestException,
            OSError) as e:
        warn(str(e))
        if b.ctl is not None:
            warn("last lines of the controld log:\n" + b.ctl.log_tail(15))
        if b.lab is not None and b.lab.proc is not None:
            warn("last lines of the dataplane log:\n" + b.lab.log_tail(10))
        return 1
    except (KeyboardInterrupt, Stop):
        warn("interrupted; cleaning up")
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        b.stop()


if __name__ == "__main__":
    sys.exit(main())
