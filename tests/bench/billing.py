#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Billing-run workload of scripts/bench --billing N: invoices per second.

    billing.py run --dir DIR --accounts N [--runs R] [--usage PCT]
    billing.py stop-leftover DIR

'run' starts a private PostgreSQL cluster and a cuco-controld on it in DIR
(tests/integration/cucoctld.py; the binary is CUCO_CONTROLD or the build's)
with scheduled runs off, and generates, directly in the billing schema, N
accounts (calendar cycles), each with an active plan and one running charge
(a recurring price, a promotion on every third, a one-off fee on every
fifth, a volume allowance with an overage price on every second), and
usage rows for PCT % of the services (default 20; three rows each in the
cycle). Then, R times, it starts the run of one earlier cycle through the
API (POST /api/v1/billing-runs: each run a cycle of its own, so each issues
N invoices) and waits for it to complete. Measured per run: invoices /
(finished_at - created_at of the run, from the database) and the wall
time seen by the client. Checked per run: N invoices, none failed, each
account once, and the year's numbers without a gap.

The bench measures and reports; it does not judge. Exit status 0, or 1
when it could not measure (a message on stderr).
"""

import argparse
import datetime
import os
import signal
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

import cucoctld  # noqa: E402


class Failed(Exception):
    pass


class Stop(Exception):
    pass


def on_signal(_sig, _frame):
    raise Stop()


def say(msg):
    print(msg, flush=True)


GENERATE = """
SET search_path TO billing;
INSERT INTO plans (id, create_step_id, order_id, customer_id, state, items, start_date,
                   activated_at)
SELECT md5('p' || g)::uuid, 'bench:' || g, md5('o' || g)::uuid, md5('c' || g)::uuid, 'active',
       '[]', '{start}', now() FROM generate_series(1, {n}) g;
INSERT INTO accounts (id, customer_id, name, cycle, cycle_day, currency, payment_terms_days)
SELECT md5('a' || g)::uuid, md5('c' || g)::uuid, 'bench ' || g, 'calendar', 1, 'EUR', 30
FROM generate_series(1, {n}) g;
INSERT INTO charges (id, account_id, plan_id, order_item_id, service_id, offering_id, name,
                     currency, recurring_minor, discount_minor, promo_months, promotion,
                     one_time_minor, allowance_bytes, per_gb_minor, start_date)
SELECT md5('ch' || g)::uuid, md5('a' || g)::uuid, md5('p' || g)::uuid, '1',
       md5('s' || g)::uuid, 'offering', 'Fiber ' || (20 + g % 5 * 10), 'EUR', 1990 + g % 7 * 500,
       CASE WHEN g % 3 = 0 THEN 995 ELSE 0 END, CASE WHEN g % 3 = 0 THEN 120 ELSE 0 END,
       CASE WHEN g % 3 = 0 THEN 'Welcome' END, CASE WHEN g % 5 = 0 THEN 4900 ELSE 0 END,
       CASE WHEN g % 2 = 0 THEN 100000000000 END, CASE WHEN g % 2 = 0 THEN 200 END,
       '{start}' FROM generate_series(1, {n}) g;
"""

USAGE = """
SET search_path TO billing;
SELECT usage_partition(('{start}'::date + make_interval(months => m))::timestamptz)
FROM generate_series(0, {months}) m;
INSERT INTO usage (service_id, dataplane, boot_id, seq, start_time, end_time, bytes_up,
                   bytes_down)
SELECT md5('s' || g)::uuid, 'bench', 'boot', m * 3 + k,
       ('{start}'::date + make_interval(months => m, days => k * 7))::timestamptz,
       ('{start}'::date + make_interval(months => m, days => k * 7, mins => 5))::timestamptz,
       (g::bigint * 7919 + k) % 40000000000, (g::bigint * 104729 + k) % 80000000000
FROM generate_series(1, {n}) g, generate_series(0, {months} - 1) m, generate_series(0, 2) k
WHERE g % 100 < {pct};
"""


class Bench:
    def __init__(self, a):
        self.a = a
        self.ctl = None

    def setup(self):
        a = self.a
        root = Path(a.dir) / "billing"
        self.ctl = cucoctld.Controld(
            root, config_extra="rate-limit token 1000000 1000000\n"
            "rate-limit address 1000000 1000000\nbilling-schedule off\n"
            "billing-dunning-interval 86400\nlog-level warning\n")
        self.ctl.start()
        self.token = self.ctl.admin_token()
        today = datetime.date.today()
        first = today.replace(day=1)
        cycles = []
        for _ in range(a.runs):
            first = (first - datetime.timedelta(days=1)).replace(day=1)
            cycles.append(first)
        self.cycles = list(reversed(cycles))
        start = self.cycles[0]
        t0 = time.monotonic()
        cucoctld.psql(self.ctl.db_url, GENERATE.format(n=a.accounts, start=start))
        cucoctld.psql(self.ctl.db_url, USAGE.format(n=a.accounts, start=start,
                                                     months=a.runs, pct=a.usage))
        cucoctld.psql(self.ctl.db_url, "VACUUM ANALYZE")
        rows = cucoctld.psql(self.ctl.db_url, "SELECT count(*) FROM billing.usage")
        say(f"generated {a.accounts} accounts, plans and charges and {rows} usage rows in "
            f"{time.monotonic() - t0:.1f} s")

    def one(self, i, cycle):
        a, ctl = self.a, self.ctl
        t0 = time.monotonic()
        r = ctl.post("/api/v1/billing-runs", token=self.token,
                     json={"cycleStart": cycle.isoformat()})
        if r.status_code != 201:
            raise Failed(f"POST /api/v1/billing-runs: {r.status_code} {r.text}")
        rid = r.json()["id"]
        deadline = time.monotonic() + max(600, a.accounts / 20)
        while True:
            run = ctl.get(f"/api/v1/billing-runs/{rid}", token=self.token).json()
            if run["state"] == "completed":
                break
            if time.monotonic() > deadline:
                raise Failed(f"run {rid} not completed in time: {run}")
            time.sleep(0.2)
        wall = time.monotonic() - t0
        secs = float(cucoctld.psql(ctl.db_url, "SELECT extract(epoch FROM finished_at - "
                                   f"created_at) FROM billing.runs WHERE id = '{rid}'"))
        check = cucoctld.psql(ctl.db_url, "SELECT count(*), count(DISTINCT account_id) FROM "
                              f"billing.invoices WHERE run_id = '{rid}'")
        gap = cucoctld.psql(ctl.db_url, "SELECT count(*) = max(seq) FROM billing.invoices "
                            "GROUP BY year")
        ok = (run["invoiced"] == a.accounts and run["failed"] == 0
              and check == f"{a.accounts}|{a.accounts}" and set(gap.split()) == {"t"})
        rate = run["invoiced"] / secs if secs > 0 else 0.0
        say(f"run {i}/{a.runs}: cycle {cycle}: {run['invoiced']} invoices in {secs:.1f} s: "
            f"{rate:.0f} invoices/s (client wall {wall:.1f} s); "
            f"checks {'ok' if ok else 'FAILED: ' + str(run) + ' ' + check + ' ' + gap}")
        return rate

    def run(self):
        say(f"billing bench: {self.a.accounts} accounts, {self.a.runs} run(s), usage for "
            f"{self.a.usage} % of the services; {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.2f}")
        self.setup()
        rates = [self.one(i + 1, c) for i, c in enumerate(self.cycles)]
        say(f"summary: median {statistics.median(rates):.0f} invoices/s "
            f"[{' '.join(f'{r:.0f}' for r in rates)}]")

    def stop(self):
        if self.ctl is not None:
            self.ctl.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dir", required=True)
    r.add_argument("--accounts", type=int, default=100000)
    r.add_argument("--runs", type=int, default=1)
    r.add_argument("--usage", type=int, default=20)
    s = sub.add_parser("stop-leftover")
    s.add_argument("dir")
    args = p.parse_args()
    if args.cmd == "stop-leftover":
        cucoctld.stop_leftover(Path(args.dir) / "billing")
        return 0
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    b = Bench(args)
    try:
        b.run()
        return 0
    except (Failed, cucoctld.ControldError, OSError) as e:
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
