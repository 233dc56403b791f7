"""A real cuco-controld on a real, private PostgreSQL cluster, for tests and
the lab.

    with Controld("ct123") as c:
        token = c.admin_token()
        r = c.get("/api/v1/users", token=token)

The cluster comes from scripts/pgcluster in a directory of its own; the
controld binary is build/controlplane/controld/cuco-controld unless
CUCO_CONTROLD names another (a sanitized build). Everything is removed on
stop(), also when the test failed; leftovers of killed runs are removed by
cleanup_leftovers().
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
PGCLUSTER = REPO / "scripts" / "pgcluster"
# The line cuco-controld writes once, on the first start.
_OTP = re.compile(r"user 'admin' created with one-time password (\S+)")
LAB_PASSWORD_LEN = 20


class ControldError(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binary():
    env = os.environ.get("CUCO_CONTROLD")
    if env:
        b = Path(env)
        if b.is_dir():
            b = b / "controlplane" / "controld" / "cuco-controld"
        return b
    return REPO / "build" / "controlplane" / "controld" / "cuco-controld"


def pg_start(directory, port=None):
    extra = ["--port", str(port)] if port else []
    out = subprocess.run([str(PGCLUSTER), "start", str(directory)] + extra, check=True,
                         capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    return out.stdout.strip().splitlines()[-1]


def pg_stop(directory):
    subprocess.run([str(PGCLUSTER), "stop", str(directory)], check=False,
                   capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


def psql(url, sql, check=True):
    """Run SQL as the cluster's administrator (for tests that tamper)."""
    out = subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    if check and out.returncode != 0:
        raise ControldError(f"psql: {out.stderr.strip()}")
    return out.stdout.strip()


class Controld:
    """One cuco-controld and its cluster, in directory @root."""

    def __init__(self, root, *, config_extra="", port=None, external_db=False, share=None):
        self.root = Path(root)
        self.state = self.root / "state"
        self.pgdir = self.state / "pg"
        self.port = port or free_port()
        self.config_extra = config_extra
        self.proc = None
        self.log_path = self.root / "controld.log"
        self.admin_password = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = None
        self._log_offset = 0
        # external_db: the cluster on loopback TCP, named by URL in the config
        # (as an external server would be), not the embedded socket.
        self.db_port = free_port() if external_db else None
        # share: another Controld whose state directory (keys) and database
        # this one uses: a second process of a split deployment.
        self.share = share
        if share is not None:
            self.state = share.state
            self.pgdir = share.pgdir

    # -------------------------------------------------------------- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def config_text(self):
        if self.share is not None:
            return (f"state-dir {self.state}\n"
                    f"database {self.share.db_url}\n"
                    f"listen 127.0.0.1 {self.port}\n"
                    "log-level info\n"
                    "drain-timeout 5\n"
                    f"{self.config_extra}")
        return (f"state-dir {self.state}\n"
                f"listen 127.0.0.1 {self.port}\n"
                "log-level info\n"
                "drain-timeout 5\n"
                + (f"database postgresql://cuco@127.0.0.1:{self.db_port}/cuco\n"
                   if self.db_port else "")
                + f"{self.config_extra}")

    def start(self):
        if self.share is not None:
            self.root.mkdir(parents=True, exist_ok=True)
            self.db_url = self.share.db_url
            (self.root / "controld.conf").write_text(self.config_text())
            self.start_controld()
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)
        os.chmod(self.state, 0o700)
        if not (self.pgdir / "data").exists():
            # the keys and the audit anchor belong to the database they sign
            shutil.rmtree(self.state / "security", ignore_errors=True)
        self.db_url = pg_start(self.pgdir, self.db_port)
        (self.root / "controld.conf").write_text(self.config_text())
        self.start_controld()
        if self.admin_password is None:
            raise ControldError("cuco-controld printed no one-time admin password:\n"
                                + self.log_tail())

    def start_controld(self, timeout=30.0):
        log = open(self.log_path, "ab")
        self._log_offset = self.log_path.stat().st_size
        self.proc = subprocess.Popen(
            [str(binary()), "-c", str(self.root / "controld.conf")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                     UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"))
        log.close()
        (self.root / "controld.pid").write_text(f"{self.proc.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ControldError(f"cuco-controld exited with {self.proc.returncode}:\n"
                                    + self.log_tail())
            m = _OTP.search(self.log_text(self._log_offset))
            if m and self.admin_password is None:
                self.admin_password = m.group(1)
            try:
                if requests.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise ControldError("cuco-controld not ready in time:\n" + self.log_tail())

    def stop_controld(self, sig=signal.SIGTERM, timeout=15.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self):
        return self.stop_controld(signal.SIGKILL)

    def restart(self):
        self.stop_controld()
        self.start_controld()

    def stop(self, keep_logs=True):
        self.stop_controld()
        if self.share is not None:
            return
        pg_stop(self.pgdir)
        shutil.rmtree(self.pgdir, ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(self.root, ignore_errors=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # ------------------------------------------------------------------- logs
    def log_text(self, since=0):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def log_records(self):
        """The JSON log lines, parsed (other lines are skipped)."""
        out = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    # -------------------------------------------------------------------- api
    def request(self, method, path, *, token=None, headers=None, **kw):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        kw.setdefault("timeout", 30)
        return requests.request(method, self.url + path, headers=h, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def login(self, username, password):
        r = self.post("/api/v1/auth/login", json={"username": username, "password": password})
        if r.status_code != 200:
            raise ControldError(f"login {username}: {r.status_code} {r.text}")
        return r.json()

    def admin_token(self):
        """A token of the admin, changing the one-time password first if
        it has not been changed yet (then kept in self.admin_password)."""
        if getattr(self, "_admin_changed", False):
            return self.login("admin", self.admin_password)["access_token"]
        first = self.login("admin", self.admin_password)
        if first.get("password_change_required"):
            new = "lab-" + os.urandom(12).hex()[:LAB_PASSWORD_LEN]
            r = self.post("/api/v1/auth/password", token=first["access_token"],
                          json={"old_password": self.admin_password, "new_password": new})
            if r.status_code != 204:
                raise ControldError(f"password change: {r.status_code} {r.text}")
            self.admin_password = new
        self._admin_changed = True
        return self.login("admin", self.admin_password)["access_token"]


def stop_leftover(d):
    """Kill the controld and stop the cluster an earlier, killed run left in
    directory @d (a Controld's root). Idempotent."""
    d = Path(d)
    for sub in (d / "a", d / "b"):  # the processes of a split deployment
        if sub.is_dir():
            stop_leftover(sub)
    try:
        stray = int((d / "controld.pid").read_text())
        with open(f"/proc/{stray}/cmdline", "rb") as f:
            if b"cuco-controld" in f.read():
                os.kill(stray, signal.SIGKILL)
    except (OSError, ValueError):
        pass
    pgdir = d / "state" / "pg"
    if (pgdir / "data").exists():
        pg_stop(pgdir)
        shutil.rmtree(pgdir, ignore_errors=True)


def cleanup_leftovers(root, live_pid_of):
    """Stop what earlier runs under @root left whose owner is gone.
    @live_pid_of(name) returns the pid that owned the directory, or None."""
    root = Path(root)
    if not root.is_dir():
        return
    for d in root.iterdir():
        pid = live_pid_of(d.name)
        if pid is None:
            continue
        try:
            os.kill(pid, 0)
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        stop_leftover(d)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit("cucoctld is a library of the integration tests")
