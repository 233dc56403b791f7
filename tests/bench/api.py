#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""REST workload of scripts/bench --api: cuco-controld under wrk, beside
pgbench running the equivalent single-row transactions on the same cluster.

    api.py run --dir DIR [--seconds S] [--connections N] [--runs R] [--warmup W]
               [--workloads read,write,customer,catalog]
    api.py stop-leftover DIR

'run' starts a private PostgreSQL cluster and a cuco-controld on it in DIR
(tests/integration/cucoctld.py; the binary is CUCO_CONTROLD or the build's),
with rate limits out of the way (rate-limit token and address 1000000
1000000), logs in as admin (changing the one-time password), creates N
users "bench-NN" (role read-only), loads the lab's seed data
(tests/integration/cucoseed.py: offerings, customers) and, in the same
database, a schema "bench" of pgbench's own. Then, in each run, for each
workload in turn, both sides one after the other (odd runs the API first,
even runs pgbench first), each after a warm-up of W seconds that is not
counted:

  read   wrk GET /api/v1/users/{id} (one user, bearer token of the admin)
         pgbench: SELECT of that user's row by primary key from
         security.users (the columns the API returns)
  write  wrk PATCH /api/v1/users/{id}, {"display_name": NEW} as a JSON
         merge patch, no If-Match: each connection its own user; each
         request one transaction of the security domain (the row, an
         outbox event, an audit record)
         pgbench: BEGIN; UPDATE of one row of bench.users (client i its
         own row); INSERT of an event row into bench.events; END
  customer  a registration: wrk POST /tmf-api/party/v4/individual, then
         POST /tmf-api/customerManagement/v4/customer with that individual
         as engagedParty (two requests, each a transaction of the customer
         domain: its row and its outbox event); counted: customers created
         pgbench: twice BEGIN; INSERT of a JSON document into bench.docs;
         INSERT of an event row into bench.doc_events; END (the second
         document names the first's id)
  catalog  wrk GET /tmf-api/productCatalogManagement/v4/productOffering/{id}
         of one seeded offering, from the catalog's read model
         pgbench: SELECT of that offering's document from
         catalog.rm_resources by primary key

wrk runs with N threads and N connections (one connection a thread, so that
each thread patches its own user), pgbench with -c N -j N -M extended (one
unnamed statement per query, as libpq's PQexecParams, which controld uses),
both for S seconds. Prints each measurement, then medians, the spread and
the ratio API/pgbench per workload (for customer: registrations per
second on both sides). Checks: wrk's non-2xx answers and socket errors,
and for the writes the outbox events and audit records the window added
(customer: the customers and the customer domain's events; pgbench:
bench.events or bench.docs rows), against the requests.

'stop-leftover' stops the controld and the cluster a killed bench left in
DIR. The bench measures and reports; it does not judge the figures. Exit
status 0, or 1 when it could not measure (a message on stderr).
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import cucoctld  # noqa: E402
import cucoseed  # noqa: E402

GOAL = 0.5
WORKLOADS = ("read", "write", "customer", "catalog")
ROUTES = {"read": "GET /api/v1/users/{id}",
          "write": "PATCH /api/v1/users/{id}",
          "customer": "POST individual + POST customer (registrations/s)",
          "catalog": "GET /tmf-api/.../productOffering/{id}"}
CONFIG_EXTRA = ("rate-limit token 1000000 1000000\n"
                "rate-limit address 1000000 1000000\n"
                "token-lifetime 3600\n")
USER_COLUMNS = ("id, name, display_name, roles, customer_id, state, must_change_password, "
                "session_epoch, created_at, updated_at, version")

PGBENCH_READ = f"SELECT {USER_COLUMNS} FROM security.users WHERE id = :uid;\n"
PGBENCH_WRITE = """\\set v random(1, 1000000000)
BEGIN;
UPDATE bench.users SET display_name = 'bench ' || :v, version = version + 1, updated_at = now() WHERE id = :client_id;
INSERT INTO bench.events (type, aggregate_id, payload) VALUES ('bench.user.updated', :client_id, jsonb_build_object('display_name', 'bench ' || :v));
END;
"""
# A registration: the party's document and event, then the customer's,
# each in its own transaction as the API's two requests.
PGBENCH_CUSTOMER = """\\set v random(1, 1000000000)
BEGIN;
INSERT INTO bench.docs (kind, doc) VALUES ('individual', jsonb_build_object('givenName', 'Bench', 'familyName', 'R ' || :client_id || ' ' || :v)) RETURNING id AS party \\gset
INSERT INTO bench.doc_events (type, aggregate_id, payload) VALUES ('bench.individual.created', :party::uuid, jsonb_build_object('id', :party::text));
END;
BEGIN;
INSERT INTO bench.docs (kind, doc) VALUES ('customer', jsonb_build_object('engagedParty', jsonb_build_object('id', :party::text), 'status', 'active', 'email', 'bench-' || :v || '@example.org')) RETURNING id AS cust \\gset
INSERT INTO bench.doc_events (type, aggregate_id, payload) VALUES ('bench.customer.created', :cust::uuid, jsonb_build_object('id', :cust::text));
END;
"""
PGBENCH_CATALOG = "SELECT doc FROM catalog.rm_resources WHERE id = :oid;\n"
BENCH_SCHEMA = """
CREATE SCHEMA bench;
CREATE TABLE bench.users (id int PRIMARY KEY, display_name text NOT NULL,
    version bigint NOT NULL DEFAULT 1, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench.events (seq bigserial PRIMARY KEY,
    event_id uuid NOT NULL DEFAULT gen_random_uuid(), type text NOT NULL,
    aggregate_id int NOT NULL, payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench.docs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), kind text NOT NULL,
    doc jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench.doc_events (seq bigserial PRIMARY KEY,
    event_id uuid NOT NULL DEFAULT gen_random_uuid(), type text NOT NULL,
    aggregate_id uuid NOT NULL, payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO bench.users (id, display_name) SELECT i, 'bench ' || i FROM generate_series(0, {n}) i;
"""


class Failed(Exception):
    pass


class Stop(BaseException):
    """SIGTERM or SIGHUP: unwind and clean up, like Ctrl-C."""


def on_signal(signum, frame):
    raise Stop(signal.Signals(signum).name)


def say(*a):
    print(*a, flush=True)


class Bench:
    def __init__(self, args):
        self.a = args
        self.dir = Path(args.dir)
        self.ctl = None
        self.child = None
        self.ids = []
        self.offering = None
        self.lua_dir = str(HERE)

    # ------------------------------------------------------------ processes
    def run_child(self, argv, env=None, timeout=None):
        """Run @argv, killed with us; returns (rc, stdout+stderr)."""
        self.child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, text=True,
                                      env=dict(os.environ, **(env or {})))
        try:
            out, _ = self.child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.child.kill()
            out, _ = self.child.communicate()
            raise Failed(f"{argv[0]} did not end within {timeout} s")
        finally:
            rc = self.child.returncode
            self.child = None
        return rc, out

    def kill_child(self):
        if self.child is not None and self.child.poll() is None:
            self.child.kill()
            self.child.wait()

    def sql(self, text):
        return cucoctld.psql(self.ctl.db_url, text)

    # ---------------------------------------------------------------- setup
    def setup(self):
        self.ctl = cucoctld.Controld(self.dir / "api", config_extra=CONFIG_EXTRA)
        self.ctl.start()
        token = self.ctl.admin_token()
        for i in range(self.a.connections):
            r = self.ctl.post("/api/v1/users", token=token,
                              json={"name": f"bench-{i:02d}", "display_name": f"bench {i}",
                                    "roles": ["read-only"],
                                    "password": "bench-" + os.urandom(12).hex()})
            if r.status_code != 201:
                raise Failed(f"creating user bench-{i:02d}: {r.status_code} {r.text}")
            self.ids.append(r.json()["id"])
        if {"customer", "catalog"} & set(self.a.workloads):
            self.seed(token)
        self.sql(BENCH_SCHEMA.replace("{n}", str(self.a.connections)))
        (self.dir / "read.sql").write_text(PGBENCH_READ)
        (self.dir / "write.sql").write_text(PGBENCH_WRITE)
        (self.dir / "customer.sql").write_text(PGBENCH_CUSTOMER)
        (self.dir / "catalog.sql").write_text(PGBENCH_CATALOG)

    def seed(self, token):
        """The lab's seed data; the catalog read is of the offering "Fiber 100",
        once the read model serves it."""
        cucoseed.seed(self.ctl.url, token)
        path = "/tmf-api/productCatalogManagement/v4/productOffering"
        r = self.ctl.get(path + "?limit=100", token=token)
        if r.status_code != 200:
            raise Failed(f"listing offerings: {r.status_code} {r.text[:300]}")
        found = [o["id"] for o in r.json() if o.get("name") == "Fiber 100"]
        if not found:
            raise Failed("the seeded offering 'Fiber 100' is not listed")
        self.offering = found[0]
        for _ in range(100):
            if self.ctl.get(f"{path}/{self.offering}", token=token).status_code == 200:
                return
            time.sleep(0.1)
        raise Failed(f"offering {self.offering} not served by the read model")

    def counts(self):
        """Now: security's outbox events and audit records, bench.events rows,
        customers, customer events, bench.docs rows (-1 for a missing table)."""
        # audit records written: chained, or waiting for the chainer's round
        out = self.sql("SELECT (SELECT count(*) FROM security.outbox), "
                       "(SELECT count(*) FROM security.audit_log)"
                       " + (SELECT count(*) FROM security.audit_pending), "
                       "(SELECT count(*) FROM bench.events)")
        got = [int(x) for x in out.split("|")]
        if self.offering is None:
            return got + [-1, -1, -1]
        out = self.sql("SELECT (SELECT count(*) FROM customer.customers), "
                       "(SELECT count(*) FROM customer.outbox), "
                       "(SELECT count(*) FROM bench.docs)")
        return got + [int(x) for x in out.split("|")]

    # -------------------------------------------------------------- measure
    def wrk(self, kind, seconds, salt):
        n = self.a.connections
        ids = {"read": self.ids[:1], "write": self.ids, "catalog": [self.offering],
               "customer": []}[kind]
        token = self.ctl.admin_token()
        argv = ["wrk", "-t", str(n), "-c", str(n), "-d", f"{seconds}s", "--timeout", "10s",
                "-s", str(HERE / f"wrk_{kind}.lua"), self.ctl.url]
        env = {"CUCO_BENCH_TOKEN": token, "CUCO_BENCH_IDS": ",".join(ids),
               "CUCO_BENCH_SALT": salt, "CUCO_BENCH_LUA_DIR": self.lua_dir}
        before = self.counts()
        rc, out = self.run_child(argv, env, timeout=seconds + 60)
        after = self.counts()
        m = re.search(r"^wrk-report (\{.*\})$", out, re.M)
        if rc != 0 or m is None:
            raise Failed(f"wrk ({kind}) exited with {rc}:\n{out}")
        rep = json.loads(m.group(1))
        rep["events"] = after[0] - before[0]
        rep["audit"] = after[1] - before[1]
        if kind == "customer":
            # The figure is registrations/s: two requests each.
            rep["requests_http"] = rep["requests"]
            rep["rps_http"] = rep["rps"]
            rep["requests"] = rep.get("registrations", 0)
            rep["rps"] = rep["requests"] / rep["seconds"] if rep["seconds"] else 0.0
            rep["customers"] = after[3] - before[3]
            rep["events"] = after[4] - before[4]
        return rep

    def pgbench(self, kind, seconds):
        n = self.a.connections
        argv = ["pgbench", "-n", "-M", "extended", "-c", str(n), "-j", str(n),
                "-T", str(seconds), "-f", str(self.dir / f"{kind}.sql")]
        if kind == "read":
            argv += ["-D", f"uid={self.ids[0]}"]
        elif kind == "catalog":
            argv += ["-D", f"oid={self.offering}"]
        argv.append(self.ctl.db_url)
        before = self.counts()
        rc, out = self.run_child(argv, timeout=seconds + 60)
        after = self.counts()
        tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
        lat = re.search(r"^latency average = ([0-9.]+) ms", out, re.M)
        done = re.search(r"^number of transactions actually processed: (\d+)", out, re.M)
        failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
        if rc != 0 or tps is None:
            raise Failed(f"pgbench ({kind}) exited with {rc}:\n{out}")
        return {"rps": float(tps.group(1)), "latency_avg_ms": float(lat.group(1)) if lat else 0,
                "requests": int(done.group(1)) if done else 0,
                "failed": int(failed.group(1)) if failed else 0,
                "events": after[2] - before[2], "docs": after[5] - before[5]}

    def measure(self, side, kind, run):
        w = self.a.warmup
        if side == "api":
            if w:
                self.wrk(kind, w, f"w{run}")
            return self.wrk(kind, self.a.seconds, f"r{run}")
        if w:
            self.pgbench(kind, w)
        return self.pgbench(kind, self.a.seconds)

    # ---------------------------------------------------------------- report
    @staticmethod
    def line_api(run, runs, kind, r):
        e = r["errors"]
        lat = r["latency_ms"]
        socket_errs = e["connect"] + e["read"] + e["write"] + e["timeout"]
        unit = "reg/s" if kind == "customer" else "req/s"
        s = (f"run {run}/{runs}: {kind:8} API     {r['rps']:9.1f} {unit} "
             f"(latency ms p50 {lat['p50']} p90 {lat['p90']} p99 {lat['p99']} "
             f"max {lat['max']}; {r['requests']} requests, non-2xx {e['status']}, "
             f"socket errors {socket_errs}")
        if kind == "write":
            s += f"; outbox +{r['events']}, audit +{r['audit']}"
        elif kind == "customer":
            s += (f"; {r['requests_http']} requests ({r['rps_http']:.1f}/s);"
                  f" customers +{r['customers']}, customer outbox +{r['events']}")
        return s + ")"

    @staticmethod
    def line_pg(run, runs, kind, r):
        unit = "reg/s" if kind == "customer" else "tx/s "
        s = (f"run {run}/{runs}: {kind:8} pgbench {r['rps']:9.1f} {unit} "
             f"(latency ms avg {r['latency_avg_ms']:.3f}; {r['requests']} transactions, "
             f"failed {r['failed']}")
        if kind == "write":
            s += f"; bench.events +{r['events']}"
        elif kind == "customer":
            s += f"; bench.docs +{r['docs']}"
        return s + ")"

    def run(self):
        a = self.a
        say(f"bench: API against pgbench, {a.runs} run(s) of {a.seconds} s per side after "
            f"{a.warmup} s warm-up; {a.connections} connections (wrk -t {a.connections} "
            f"-c {a.connections}, pgbench -c {a.connections} -j {a.connections} -M extended)")
        self.setup()
        say(f"bench: cuco-controld on {self.ctl.url}, PostgreSQL "
            f"{self.sql('SHOW server_version')}, synchronous_commit "
            f"{self.sql('SHOW synchronous_commit')}, {a.connections} users bench-NN; "
            f"load average {os.getloadavg()[0]:.2f}")
        rates = {(s, k): [] for s in ("api", "pg") for k in a.workloads}
        ratios = {k: [] for k in a.workloads}
        for run in range(1, a.runs + 1):
            order = ("api", "pg") if run % 2 else ("pg", "api")
            for kind in a.workloads:
                got = {}
                for side in order:
                    r = self.measure(side, kind, run)
                    got[side] = r["rps"]
                    rates[(side, kind)].append(r["rps"])
                    say(self.line_api(run, a.runs, kind, r) if side == "api"
                        else self.line_pg(run, a.runs, kind, r))
                if got["pg"] > 0:
                    ratios[kind].append(got["api"] / got["pg"])
                    say(f"run {run}/{a.runs}: {kind:8} ratio API/pgbench "
                        f"{ratios[kind][-1]:.3f}")
        self.summary(rates, ratios)

    def summary(self, rates, ratios):
        a = self.a

        def spread(xs, fmt):
            return "[" + " ".join(fmt % x for x in xs) + "]"

        say("")
        say(f"summary: medians of {a.runs} run(s), {a.seconds} s windows, "
            f"{a.connections} connections; load average now {os.getloadavg()[0]:.2f}")
        for kind in a.workloads:
            api, pg = rates[("api", kind)], rates[("pg", kind)]
            say(f"  {kind:8} API      {statistics.median(api):9.1f} /s "
                f"{spread(api, '%.1f')}  {ROUTES[kind]}")
            say(f"  {kind:8} pgbench  {statistics.median(pg):9.1f} /s "
                f"{spread(pg, '%.1f')}")
            if ratios[kind]:
                say(f"  {kind:8} ratio    {statistics.median(ratios[kind]):9.3f}    "
                    f"{spread(ratios[kind], '%.3f')}  (goal >= {GOAL})")

    def stop(self):
        self.kill_child()
        if self.ctl is not None:
            self.ctl.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--seconds", type=int, default=10)
    r.add_argument("--connections", type=int, default=8)
    r.add_argument("--runs", type=int, default=1)
    r.add_argument("--warmup", type=int, default=2)
    r.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated, in this order: " + ",".join(WORKLOADS))
    s = sub.add_parser("stop-leftover")
    s.add_argument("dir")
    args = p.parse_args()

    if args.cmd == "stop-leftover":
        cucoctld.stop_leftover(Path(args.dir) / "api")
        return 0
    wanted = [w for w in args.workloads.split(",") if w]
    if not wanted or any(w not in WORKLOADS for w in wanted):
        p.error(f"--workloads: a comma-separated list of {', '.join(WORKLOADS)}")
    args.workloads = [w for w in WORKLOADS if w in wanted]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    b = Bench(args)
    try:
        b.run()
        return 0
    except (Failed, cucoctld.ControldError, subprocess.SubprocessError, OSError) as e:
        print(f"bench: {e}", file=sys.stderr)
        if b.ctl is not None:
            print("bench: last lines of the controld log:\n" + b.ctl.log_tail(15),
                  file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Stop):
        print("bench: interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        b.stop()


if __name__ == "__main__":
    sys.exit(main())
