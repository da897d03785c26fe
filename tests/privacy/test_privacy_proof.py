"""The privacy proof: after a whole working month of a demo district, no raw ID number, phone
or name is anywhere the hub writes, except where the design puts it (the encrypted vault, and
the one answer a reveal gives).

The month, all through the real entry points: `hub init`, ingests with quality checks (the
first with `hub ingest`), the crosswalk, publishing, a real `hub serve` (uvicorn on
127.0.0.1, pipeline worker on) taking look-ups, a refused and an invalid request, a
department upload, a reveal, an access report, a researcher's export job; then `hub export`
(and the function behind it) of every dataset, `hub quality report`, `hub access-report`,
`hub audit verify` (these read-only reports through the same typer app, in this process).
Then the scan: every file under the home folder except `vault/` and `keys/` (databases read
value by value as well as byte by byte), every export and report, the server log, every
response body and every command's output. Positive controls show the scan finds what it
looks for.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from catalog.db import create_state_engine
from hub.cli.main import app
from hub.demo import DemoManifest, generate_demo
from hub.keys.config import load_keyring, load_security_keys
from hub.pipeline.worker import PipelineWorker
from hub.release.export import export_dataset
from hub.security.tokens import TokenStore
from hub.settings import HubSettings
from hub.state.migrate import upgrade_state
from tests import server_kit
from tests.privacy_scan import Needles, privacy_hits, scan_files
from tests.privacy_scan import valid_id as id_is_valid
from tests.server_kit import ROOT, hub_command, hub_env

pytestmark = pytest.mark.slow
DATASETS = ["grid", "elderly_care", "medical", "employment"]
RELEASED = [*DATASETS, "assistance_ledger"]


@dataclass
class Month:
    settings: HubSettings
    demo: DemoManifest
    needles: Needles
    outside: list[Path]  # exports and reports written outside the home
    said: list[bytes] = field(default_factory=list)  # response bodies, log, command output
    printed: dict[str, bytes] = field(default_factory=dict)  # command -> its standard output
    revealed: bytes = b""  # the one answer allowed to hold raw identifiers


def _hub(month: Month, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run([*hub_command(), *args], cwd=ROOT,
                          env=hub_env(month.settings.home, HUB_CHUNK_ROWS="1000"),
                          input=stdin.encode() if stdin else None, capture_output=True,
                          timeout=600, check=False)
    month.said += [done.stdout, done.stderr]
    month.printed[" ".join(args[:2])] = done.stdout
    assert done.returncode == 0, (args, done.stderr[-2000:])
    return done


def _hub_in_process(month: Month, *args: str, stdin: str | None = None) -> None:
    """The same command through the typer app in this process: for the read-only reports,
    where a process start adds seconds of imports and nothing to what is scanned."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("HUB_")}
    env.update(HUB_HOME=str(month.settings.home), HUB_CHUNK_ROWS="1000")
    done = CliRunner().invoke(app, list(args), input=stdin, env=env)
    month.said += [done.stdout_bytes, done.stderr_bytes]
    month.printed[" ".join(args[:2])] = done.stdout_bytes
    assert done.exit_code == 0, (args, done.output[-2000:], done.exception)


def _wait(api: httpx.Client, url: str, busy: tuple[str, ...]) -> dict[str, object]:
    deadline = time.monotonic() + 180
    while True:
        status: dict[str, object] = api.get(url).json()
        if status["status"] not in busy or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def _serve(month: Month, tokens: dict[str, str], raw_id: str, upload: Path) -> None:
    log_path = month.settings.home.parent / "serve.log"
    running = server_kit.start(month.settings.home, log_path, workers=1, HUB_CHUNK_ROWS="1000")
    base = running.base_url

    def client(role: str) -> httpx.Client:
        def keep(response: httpx.Response) -> None:
            response.read()
            month.said.append(response.content)

        return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens[role]}"},
                            timeout=60, event_hooks={"response": [keep]})

    try:
        server_kit.wait_healthy(running, time.monotonic() + server_kit.STARTUP_SECONDS)
        with client("admin") as admin:
            found = admin.post("/v1/residents/search",
                               json={"id_number": raw_id, "purpose": "assistance_review"})
            assert found.status_code == 200, found.text
            key = found.json()["resident_key"]
            assert admin.get(f"/v1/residents/{key}",
                             params={"purpose": "case_management"}).status_code == 200
            invalid = admin.post("/v1/residents/search",
                                 json={"id_number": raw_id, "purpose": 12, "extra": raw_id})
            assert invalid.status_code == 422
            # The reveal answer is kept apart: it is the one place raw identifiers may go.
            revealed = httpx.post(f"{base}/v1/residents/{key}/reveal",
                                  headers={"Authorization": f"Bearer {tokens['admin']}"},
                                  json={"purpose": "emergency", "case_reference": "EM-1"})
            assert revealed.status_code == 200, revealed.text
            month.revealed = revealed.content
            report = admin.post("/v1/admin/access-report", json={"id_number": raw_id})
            assert report.status_code == 200, report.text
            assert {e["action"] for e in report.json()["events"]} >= {"resident.search",
                                                                      "reveal"}
        with client("street_office") as street:
            refused = street.get(f"/v1/residents/{key}", params={"purpose": "emergency"})
            assert refused.status_code in (200, 404)
        with client("department") as department, upload.open("rb") as handle:
            accepted = department.post("/v1/datasets/elderly_care/uploads",
                                       files={"file": (upload.name, handle, "text/csv")})
            assert accepted.status_code == 202, accepted.text
            status = _wait(department, f"/v1/uploads/{accepted.json()['upload_id']}",
                           ("queued", "running"))
            assert status["outcome"] == "loaded", status
        with client("researcher") as researcher:
            asked = researcher.post("/v1/exports", json={"dataset": "grid", "recipient": "s-1"})
            assert asked.status_code == 202, asked.text
            url = f"/v1/exports/{asked.json()['export_id']}"
            assert _wait(researcher, url, ("queued", "running"))["status"] == "done"
            assert researcher.get(f"{url}/file").status_code == 200
            assert researcher.get(f"{url}/report").status_code == 200
        with client("auditor") as auditor:
            assert auditor.get("/v1/audit/events", params={"limit": 500}).status_code == 200
            assert auditor.get("/v1/quality/findings").status_code == 200
    finally:
        server_kit.stop(running)
        month.said.append(log_path.read_bytes())


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Month:
    base = tmp_path_factory.mktemp("proof")
    demo = generate_demo(base / "district", residents=1_000, seed=23, today=date.today())
    settings = HubSettings(home=base / "home", chunk_rows=1_000)
    done = Month(settings, demo, Needles.of(demo), [base / "exports", base / "reports"])
    _hub(done, "init")
    _hub(done, "ingest", str(demo.datasets["grid"].source_yaml), str(demo.datasets["grid"].path))
    with PipelineWorker(settings) as worker:  # in this process: one quality-suite start-up
        for name in DATASETS[1:]:
            extract = demo.datasets[name]
            assert worker.ingest(Path(extract.source_yaml), Path(extract.path)).outcome \
                == "loaded"
        worker.load_crosswalk(demo.crosswalk)
        worker.publish()

    engine = create_state_engine(settings.resolved_state_url)
    store = TokenStore(engine, load_security_keys(settings).token_pepper)
    upgrade_state(store.engine)
    tokens = {"admin": store.create("admin", [], "admin-proof")[1],
              "auditor": store.create("auditor", [], "auditor-proof")[1],
              "researcher": store.create("researcher", ["grid"], "researcher-proof")[1],
              "department": store.create("department", ["elderly_care"], "civil-proof")[1],
              "street_office": store.create("street_office", ["110105001"], "street-proof")[1]}
    engine.dispose()
    grid = pd.read_csv(demo.datasets["grid"].path, dtype=str, encoding="utf-8")
    raw_id = next(i for i in grid["身份证号"].dropna()
                  if len(i) == 18 and i[:17].isdigit() and id_is_valid(i))
    extract = Path(demo.datasets["elderly_care"].path)
    lines = extract.read_bytes().splitlines(keepends=True)
    upload = base / "elderly_care_upload.csv"  # a new extract: the same bytes are refused
    upload.write_bytes(b"".join(lines[:-3]))
    _serve(done, tokens, raw_id, upload)

    # One release through the command, the others through the same function in this process
    # (each command start costs seconds of imports on a small CI machine).
    _hub(done, "export", "grid", "--out", str(base / "exports" / "grid.csv"),
         "--recipient", "proof")
    with PipelineWorker(settings) as worker:
        for name in RELEASED[1:]:
            export_dataset(worker, name, base / "exports" / f"{name}.csv", recipient="proof",
                           keyring=load_keyring(settings))
    _hub_in_process(done, "quality", "report", "--out", str(base / "reports"))
    _hub_in_process(done, "access-report", "--id-number", "-", "--json", stdin=raw_id + "\n")
    # An auditor's copy of the checkpoints, kept outside the home: verify with a witness.
    _hub_in_process(done, "audit", "checkpoint")
    shutil.copytree(settings.audit_dir, base / "witness")
    _hub_in_process(done, "audit", "verify", "--json", "--checkpoint-dir", str(base / "witness"))
    _hub_in_process(done, "batches", "--json")
    return done


def _written(month: Month) -> list[Path]:
    """Every file under the home folder but the vault and the keys, and the outside outputs."""
    skip = (month.settings.keys_dir, month.settings.vault_dir)
    files = [p for p in month.settings.home.rglob("*")
             if p.is_file() and not any(s in p.parents for s in skip)]
    for folder in month.outside:
        files += [p for p in folder.rglob("*") if p.is_file()]
    return files


def test_the_scan_finds_identifiers_where_they_are(month: Month) -> None:
    grid = Path(month.demo.datasets["grid"].path).read_bytes()
    hits = privacy_hits(grid, month.needles)
    assert {h.split("@")[0] for h in hits} >= {"id-pattern", "phone-pattern", "demo-name"}
    assert privacy_hits(month.revealed, month.needles)  # the reveal did answer raw identifiers
    # The vault holds them, encrypted: it is the one place under the home left out.
    assert month.settings.vault_store_path.exists()


def test_the_scan_reads_values_inside_databases(month: Month, tmp_path: Path) -> None:
    raw_id = next(i for i in month.needles.ids if len(i) == 18 and i[:17].isdigit())
    name = next(iter(month.needles.names))
    duck = tmp_path / "planted.duckdb"
    con = duckdb.connect(str(duck))
    con.execute("CREATE TABLE t (k VARCHAR, v VARCHAR)")
    con.execute("INSERT INTO t SELECT 'k' || i, ? FROM range(5000) AS r(i)",
                [f"{name} {raw_id}"])
    con.close()
    lite = tmp_path / "planted.sqlite"
    with contextlib.closing(sqlite3.connect(lite)) as db:
        db.execute("CREATE TABLE t (v TEXT)")
        db.execute("INSERT INTO t VALUES (?)", (name,))
        db.commit()
    found = scan_files([duck, lite], month.needles)
    assert any(h.startswith("value:") for h in found[str(duck)])
    assert "value:demo-name" in found[str(lite)]


def test_nothing_the_hub_wrote_holds_an_identifier(month: Month) -> None:
    files = _written(month)
    names = {p.name for p in files}
    # The scan covered the places where identifiers could leak.
    assert {"warehouse.duckdb", "state.sqlite"} <= names
    assert {f"{d}.csv" for d in RELEASED} <= names
    assert any(n.endswith(".html") for n in names)
    assert len([p for p in files if p.parent == month.settings.exports_dir]) >= 1
    assert not list(month.settings.inbox_dir.iterdir())  # the upload left the disk
    assert scan_files(files, month.needles) == {}


def test_nothing_the_hub_said_holds_an_identifier(month: Month) -> None:
    assert len(month.said) > 20
    assert b"pipeline worker ready" in b"".join(month.said)  # the server log was read
    hits = {i: privacy_hits(body, month.needles) for i, body in enumerate(month.said)}
    assert {i: h[:5] for i, h in hits.items() if h} == {}


def test_the_log_verifies_and_tells_the_resident_who_looked(month: Month) -> None:
    verified = json.loads(month.printed["audit verify"])
    assert verified["ok"] is True
    report = json.loads(month.printed["access-report --id-number"])
    actions = {e["action"] for e in report["events"]}
    assert {"resident.search", "resident.read", "reveal"} <= actions, actions
