"""A 2,000-resident demo district, ingested and published in a private home, served by a real
`hub serve` (uvicorn, 2 workers, a free port on 127.0.0.1) for the whole session."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from catalog.db import create_state_engine
from desensitize.pseudonym import Pseudonymiser
from hub.demo import DemoManifest, generate_demo
from hub.keys.config import init_keys, load_keyring, load_security_keys
from hub.security.tokens import TokenStore
from hub.settings import HubSettings
from hub.state.migrate import upgrade_state
from hub.views.read import ViewReader
from schemas.identity import normalise_resident_id
from tests.demo_truth import benefit_rows
from tests.district_kit import ingest_and_publish

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / ".venv" / "bin" / "hub"
STARTUP_SECONDS = 240  # a busy 2-core CI machine


@dataclass
class Resident:
    raw_id: str  # as written in the grid extract
    key: str
    street: str
    household_key: str | None
    grid_code: str | None


@dataclass
class District:
    settings: HubSettings
    demo: DemoManifest
    tokens: dict[str, str]  # role name -> bearer token
    mine: Resident  # in the street office's street
    other: Resident  # in another street
    street: str
    cash_in_files: Decimal  # the cash total of `mine` in the source extracts
    needles: dict[str, set[str]] = field(default_factory=dict)  # raw ids, names, phones


@dataclass
class Server:
    base_url: str
    log_path: Path
    process: subprocess.Popen[bytes]
    bodies: list[bytes] = field(default_factory=list)  # every response body, for the scan

    def client(self, role: str | None, district: District) -> httpx.Client:
        headers = {"Authorization": f"Bearer {district.tokens[role]}"} if role else {}

        def keep(response: httpx.Response) -> None:
            response.read()
            self.bodies.append(response.content)

        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30,
                            event_hooks={"response": [keep]})

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _residents(settings: HubSettings, demo: DemoManifest) -> tuple[pd.DataFrame, dict[str, Any]]:
    grid = pd.read_csv(demo.datasets["grid"].path, dtype=str, encoding="utf-8")
    ids = normalise_resident_id(grid["身份证号"].astype("string"), demo.today).values
    with Pseudonymiser(load_keyring(settings).pseudonym_key) as p:
        grid["resident_key"] = p.pseudonymise(ids, "resident_id")
    needles = {"id": set(grid["身份证号"].dropna()) | set(ids.dropna()),
               "name": {n for n in grid["姓名"].dropna() if len(n) >= 2},
               "phone": set(grid["联系电话"].dropna())}
    return grid, needles


def _fact_count(doc: dict[str, Any]) -> int:
    return sum(len(d["facts"]) for d in doc["departments"])


def _pick(grid: pd.DataFrame, reader: ViewReader, rows: pd.DataFrame
          ) -> tuple[Resident, Resident, Decimal]:
    """A resident whose every benefit row was loaded, with facts from several departments
    (and the cash total of the files), and one resident of another street."""
    per_key = rows.groupby("resident_key").agg(n=("yuan", "size"))
    cash = rows[rows["cash"]].groupby("resident_key")["yuan"].agg(
        lambda s: sum(s.tolist(), Decimal(0)))  # type: ignore[type-var]
    first: Resident | None = None
    expected = Decimal(0)
    for raw, key in zip(grid["身份证号"], grid["resident_key"], strict=True):
        if pd.isna(key) or not isinstance(raw, str) or len(raw) != 18 or not raw[:17].isdigit():
            continue
        doc = reader.resident(str(key))
        if doc is None or not doc["location"]["street_code"]:
            continue
        found = Resident(raw, str(key), doc["location"]["street_code"],
                         doc["household"]["household_key"], doc["location"]["grid_code"])
        if first is None:
            datasets = {d["dataset"] for d in doc["departments"] if d["facts"]}
            complete = key in per_key.index and per_key.at[key, "n"] == _fact_count(doc)
            if len(datasets) >= 2 and doc["location"]["grid_code"] and complete \
                    and key in cash.index:
                first, expected = found, Decimal(str(cash.at[key]))
        elif found.street != first.street:
            return first, found, expected
    raise AssertionError("the demo district has no resident pair in two streets")


@pytest.fixture(scope="session")
def district(tmp_path_factory: pytest.TempPathFactory) -> District:
    base = tmp_path_factory.mktemp("api")
    demo = generate_demo(base / "district", residents=2_000, seed=11, today=date.today())
    settings = HubSettings(home=base / "home", chunk_rows=1_000)
    init_keys(settings)
    ingest_and_publish(settings, demo)
    engine = create_state_engine(settings.resolved_state_url)
    grid, needles = _residents(settings, demo)
    mine, other, cash = _pick(grid, ViewReader(engine), benefit_rows(settings, demo))
    store = TokenStore(engine, load_security_keys(settings).token_pepper)
    upgrade_state(store.engine)
    tokens = {
        "street_office": store.create("street_office", [mine.street], "street-test")[1],
        "department": store.create("department", ["elderly_care"], "civil-affairs-test")[1],
        "auditor": store.create("auditor", [], "auditor-test")[1],
        "admin": store.create("admin", [], "admin-test")[1],
    }
    engine.dispose()
    return District(settings, demo, tokens, mine, other, mine.street, cash, needles)


@pytest.fixture(scope="session")
def server(district: District, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = _free_port()
    log_path = tmp_path_factory.mktemp("server") / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_HOME=str(district.settings.home), HUB_CHUNK_ROWS="1000",
               PYTHONUNBUFFERED="1")
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(HUB) if HUB.exists() else sys.executable, *([] if HUB.exists() else
             ["-m", "hub"]), "serve", "--port", str(port), "--workers", "2"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True)
    running = Server(f"http://127.0.0.1:{port}", log_path, process)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            _kill_group(process)
            raise AssertionError("hub serve exited:\n" + running.log_text()[-3000:])
        try:
            if httpx.get(f"{running.base_url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            _kill_group(process)
            raise AssertionError("hub serve did not become healthy:\n" + running.log_text())
        time.sleep(0.3)
    yield running
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        _kill_group(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """The server and the worker processes it spawned (its own session, started above)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
