"""Fixtures of the integration tests: one lab (namespaces + cuco-dataplane,
see cucolab.py) per test module, always torn down.

Run as root with Debian's python: /usr/bin/python3 -m pytest tests/integration
(scripts/test does). Labs of the tests are named ct<pid>n<k>; leftovers of a
killed test run are removed when the next run starts.
"""

import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cucolab  # noqa: E402
import cucoctld  # noqa: E402

_seq = itertools.count(1)
_TEST_PREFIX = re.compile(r"^ct(\d+)n\d+$")
_CTLD_PREFIX = re.compile(r"^cc(\d+)n\d+$")
# lines AddressSanitizer, LeakSanitizer and UBSan print (CUCO_DATAPLANE may
# name a sanitized build)
_SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "runtime error:")


def _state_root():
    return Path(os.environ.get("CUCO_LAB_DIR") or cucolab.REPO / ".lab")


def _say(msg):
    print(msg, file=sys.stderr, flush=True)


def pytest_sessionstart(session):
    """Remove the labs of earlier test runs whose process is gone (a killed
    pytest leaves namespaces and a dataplane behind), and their logs."""
    if hasattr(session.config, "workerinput") or os.geteuid() != 0:
        return  # xdist workers leave this to the controller
    prefixes = set()
    p = cucolab.run(["ip", "netns", "list"], check=False)
    for line in p.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        prefixes.add(name.rsplit("-", 1)[0])
    root = _state_root()
    if root.is_dir():
        prefixes.update(d.name for d in root.iterdir() if d.is_dir())
    def ctld_owner(name):
        m = _CTLD_PREFIX.match(name)
        return int(m.group(1)) if m else None
    cucoctld.cleanup_leftovers(root, ctld_owner)
    for prefix in sorted(prefixes):
        m = _TEST_PREFIX.match(prefix)
        if not m or Path(f"/proc/{m.group(1)}").exists():
            continue
        cucolab.Lab(prefix, state_root=root, say=_say).cleanup_leftovers()
        shutil.rmtree(root / prefix, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(request):
    """A running lab with a fresh prefix, torn down after the module. Fails
    the module's last test if the dataplane died during the module, or did
    not stop cleanly on SIGTERM. A module's LAB_OPTIONS (a dict of keyword
    arguments for cucolab.Lab, e.g. {"frr": True} or config_extra) are passed
    to cucolab.Lab."""
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (network namespaces)")
    prefix = f"ct{os.getpid()}n{next(_seq)}"
    options = getattr(request.module, "LAB_OPTIONS", {})
    lab = cucolab.Lab(prefix, state_root=_state_root(), say=_say, **options)
    lab.start()
    try:
        yield lab
    finally:
        died = None
        if lab.exit_status is None and lab.proc is not None:
            died = lab.proc.poll()
        stopped_by_test = lab.exit_status is not None
        rc = lab.stop()
        reports = [line for line in lab.log_text().splitlines()
                   if any(m in line for m in _SANITIZER_MARKS)]
        if reports:
            pytest.fail("sanitizer reports in the dataplane's log "
                        f"{lab.log_path}:\n" + "\n".join(reports[:20]))
        if died is not None:
            pytest.fail(f"cuco-dataplane died during the tests (status {died}); "
                        f"last lines of {lab.log_path}:\n{lab.log_tail()}")
        if not stopped_by_test and (lab.killed or rc != 0):
            pytest.fail(f"cuco-dataplane did not stop cleanly on SIGTERM "
                        f"(status {rc}{', needed SIGKILL' if lab.killed else ''}); "
                        f"last lines of {lab.log_path}:\n{lab.log_tail()}")


@pytest.fixture(scope="module")
def ctld(request):
    """A running cuco-controld on its own PostgreSQL cluster, stopped (and
    the cluster removed) after the module. A module's CTLD_OPTIONS (keyword
    arguments of cucoctld.Controld, e.g. config_extra) are passed on. Fails
    the module's last test on a sanitizer report or an unclean stop."""
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (the cluster runs as postgres)")
    name = f"cc{os.getpid()}n{next(_seq)}"
    options = getattr(request.module, "CTLD_OPTIONS", {})
    c = cucoctld.Controld(_state_root() / name, **options)
    try:
        c.start()
    except BaseException:
        c.stop()
        raise
    try:
        yield c
    finally:
        rc = c.stop_controld()
        c.stop()
        reports = [line for line in c.log_text().splitlines()
                   if any(m in line for m in _SANITIZER_MARKS)]
        if reports:
            pytest.fail("sanitizer reports in cuco-controld's log "
                        f"{c.log_path}:\n" + "\n".join(reports[:20]))
        if rc not in (0, None):
            pytest.fail(f"cuco-controld did not stop cleanly on SIGTERM (status {rc}); "
                        f"last lines of {c.log_path}:\n{c.log_tail()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the dataplane's log tail to every failing test's report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        c = getattr(item, "funcargs", {}).get("ctld")
        if isinstance(c, cucoctld.Controld):
            report.sections.append((f"cuco-controld log ({c.log_path})", c.log_tail(40)))
        lab = getattr(item, "funcargs", {}).get("lab")
        if isinstance(lab, cucolab.Lab):
            report.sections.append((f"cuco-dataplane log ({lab.log_path})",
                                    lab.log_tail(40)))


@pytest.fixture(scope="module", autouse=True)
def nfcapd(request):
    """An IPFIX collector (Debian's nfdump nfcapd) on 127.0.0.1 for a module
    that sets IPFIX_PORT and FEEDS (it writes into FEEDS/nfcapd), started
    before the module's controld so that its feed's first datagrams are
    heard. None for other modules."""
    port = getattr(request.module, "IPFIX_PORT", None)
    if port is None:
        yield None
        return
    out = Path(request.module.FEEDS) / "nfcapd"
    out.mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen(["nfcapd", "-w", str(out), "-b", "127.0.0.1", "-p", str(port),
                          "-t", "3600"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        time.sleep(0.5)
        assert p.poll() is None, p.stderr.read().decode(errors="replace")
        yield p
    finally:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
