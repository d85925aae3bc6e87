"""Session fixtures shared by the store, serve and query tests.

`corpus_trig`: the bundled corpus built once (the real pipeline) and written as TriG.
`virtuoso`: a throw-away Virtuoso server on 127.0.0.1 (free ports, a temporary database),
started once per session and stopped afterwards. Without `virtuoso-t` the tests that use it
skip on a developer machine and fail under CI=true, so a CI image that lost the package is
noticed (.ci/run installs virtuoso-opensource-7-bin).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"


@pytest.fixture(scope="session")
def corpus_trig(tmp_path_factory) -> Path:
    from kg.export import rdf
    from kg.pipeline import build

    result = build([CORPUS])
    path = tmp_path_factory.mktemp("corpus") / "kg.trig"
    rdf.write(result.dataset, "trig", path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


VIRTUOSO_INI = """\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
CheckpointInterval = 0
DirsAllowed = ., {d}
MaxClientConnections = 8

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {d}
ServerThreads = 8
MaxClientConnections = 8
EnableRequestTrap = 0

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 0
"""


@dataclass(frozen=True)
class Virtuoso:
    base: str  # http://127.0.0.1:PORT

    @property
    def query_url(self) -> str:
        return f"{self.base}/sparql"

    @property
    def update_url(self) -> str:  # digest auth as dba
        return f"{self.base}/sparql-auth"

    @property
    def gsp_url(self) -> str:  # Graph Store Protocol, digest auth as dba
        return f"{self.base}/sparql-graph-crud-auth"

    def store(self, *, gsp: bool = True):
        from kg.store import SparqlStore

        return SparqlStore(self.query_url, self.update_url, gsp=self.gsp_url if gsp else None,
                           user="dba", password="dba")


@pytest.fixture(scope="session")
def virtuoso(tmp_path_factory):
    binary = shutil.which("virtuoso-t")
    if binary is None:
        reason = "virtuoso-t is not installed (apt-get install virtuoso-opensource-7-bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI must run the Virtuoso parity tests")
        pytest.skip(reason + "; Virtuoso parity not checked")
    import httpx

    directory = tmp_path_factory.mktemp("virtuoso")
    http = _free_port()
    ini = directory / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(d=directory, sql=_free_port(), http=http), encoding="utf-8")
    log = (directory / "stdout.log").open("wb")
    process = subprocess.Popen([binary, "+foreground", "+configfile", str(ini)], cwd=directory,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"virtuoso-t exited with {process.returncode}: "
                            + (directory / "stdout.log").read_text(errors="replace")[-2000:])
            try:
                if httpx.get(f"{base}/sparql", params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("virtuoso-t did not answer within 60 s")
            time.sleep(0.25)
        yield Virtuoso(base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# ---------------------------------------------------------------- headless Chromium

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _need_chromium() -> None:
    """Debian's chromium is installed by .ci/system-deps: under CI its absence is a failure."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(reason + " (CI must run the browser tests)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (Playwright driving Debian's browser)."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()
