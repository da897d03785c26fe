"""Past one box: two `hub serve --no-pipeline` processes with different homes and one
`hub worker` share one PostgreSQL state store. Both serve the same views, an upload through
one is ingested by the worker and seen through the other, and the evidence log stays one valid
chain with appends from both servers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hub.audit.log import AuditLog, VerifyResult
from hub.demo import generate_demo
from hub.keys.config import init_keys, load_security_keys
from hub.pipeline.worker import PipelineWorker
from hub.security.tokens import TokenStore
from hub.settings import HubSettings
from hub.state.migrate import open_state_store
from hub.views.store import view_residents, view_state

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 240  # a busy 2-core CI machine
PURPOSE = "assistance_review"
LOOKUPS = 12  # per server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _running(args: list[str], home: Path, url: str, log: Path) -> Iterator[None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_HOME=str(home), HUB_STATE_URL=url, HUB_QUALITY_CHECKS="false",
               HUB_CHUNK_ROWS="1000", PYTHONUNBUFFERED="1")
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "hub", *args], stdout=out,
                                   stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                   start_new_session=True)
    try:
        yield
        if process.poll() is not None:
            raise AssertionError(f"{args[0]} exited early:\n{log.read_text()[-3000:]}")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _wait_healthy(base: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"{base} did not become healthy:\n{log.read_text()[-3000:]}")


def _api_home(worker_home: Path, home: Path) -> None:
    """An API host: its own home, the same keys as every other host of the installation."""
    home.mkdir(parents=True)
    shutil.copytree(worker_home / "keys", home / "keys")
    (home / "keys").chmod(0o700)


def test_two_api_hosts_and_one_worker_share_one_postgresql_store(
        postgres_url: str, tmp_path: Path) -> None:
    demo = generate_demo(tmp_path / "district", residents=120, seed=5, today=date.today())
    worker = HubSettings(home=tmp_path / "worker", state_url=postgres_url, chunk_rows=1_000,
                         quality_checks=False)
    init_keys(worker)
    with PipelineWorker(worker) as pipeline:  # three departments are enough to share views
        for name in ("grid", "elderly_care", "employment"):
            extract = demo.datasets[name]
            loaded = pipeline.ingest(Path(extract.source_yaml), Path(extract.path))
            assert loaded.outcome == "loaded", (name, loaded.reason)
        pipeline.load_crosswalk(demo.crosswalk)
        pipeline.publish()
    engine = open_state_store(postgres_url)
    with engine.connect() as conn:
        generation, published_at = conn.execute(
            select(view_state.c.generation, view_state.c.published_at)).one()
        key, street = conn.execute(
            select(view_residents.c.resident_key, view_residents.c.street_code)
            .where(view_residents.c.generation == generation,
                   view_residents.c.street_code.is_not(None))
            .order_by(view_residents.c.resident_key).limit(1)).one()
    pepper = load_security_keys(worker).token_pepper
    tokens = TokenStore(engine, pepper)
    office_id, office = tokens.create("street_office", [street], "street office")
    department = tokens.create("department", ["elderly_care"], "civil affairs")[1]
    for name in ("a", "b"):
        _api_home(worker.home, tmp_path / name)
    ports = {"a": _free_port(), "b": _free_port()}
    bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    logs = {name: tmp_path / f"{name}.log" for name in ("a", "b", "worker")}

    with _running(["worker"], worker.home, postgres_url, logs["worker"]), \
            _running(["serve", "--no-pipeline", "--workers", "1", "--port", str(ports["a"])],
                     tmp_path / "a", postgres_url, logs["a"]), \
            _running(["serve", "--no-pipeline", "--workers", "1", "--port", str(ports["b"])],
                     tmp_path / "b", postgres_url, logs["b"]):
        for name in ("a", "b"):
            _wait_healthy(bases[name], logs[name])
        clients = {name: httpx.Client(base_url=base, timeout=30, headers={
            "Authorization": f"Bearer {office}"}) for name, base in bases.items()}

        def look_up(name: str) -> bytes:
            answer = clients[name].get(f"/v1/residents/{key}", params={"purpose": PURPOSE})
            assert answer.status_code == 200, answer.text
            return answer.content

        # Both hosts at once: their audit appends interleave in one chain.
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(look_up, ["a", "b"] * LOOKUPS))
        assert len(set(answers)) == 1  # the same published document from both hosts

        extract = Path(demo.datasets["elderly_care"].path)
        lines = extract.read_bytes().splitlines(keepends=True)
        upload = tmp_path / "elderly_care_upload.csv"
        upload.write_bytes(b"".join(lines[:-3]))  # new content: it loads, views republish
        with httpx.Client(base_url=bases["b"], timeout=30, headers={
                "Authorization": f"Bearer {department}"}) as via_b, upload.open("rb") as fh:
            accepted = via_b.post("/v1/datasets/elderly_care/uploads",
                                  files={"file": (upload.name, fh, "text/csv")})
        assert accepted.status_code == 202, accepted.text
        upload_id = accepted.json()["upload_id"]
        with httpx.Client(base_url=bases["a"], timeout=30, headers={
                "Authorization": f"Bearer {department}"}) as via_a:
            deadline = time.monotonic() + 180
            status = via_a.get(f"/v1/uploads/{upload_id}").json()
            while (status.get("status") in ("queued", "running")
                   and time.monotonic() < deadline):
                time.sleep(0.5)
                status = via_a.get(f"/v1/uploads/{upload_id}").json()
        assert (status["status"], status["outcome"]) == ("done", "loaded"), status
        deadline = time.monotonic() + 120
        # The worker republishes once the queue is empty: the residents the upload changed,
        # in place in the current generation.
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                now = conn.execute(select(view_state.c.generation,
                                          view_state.c.published_at)).one()
                if now != (generation, published_at):
                    break
            time.sleep(0.5)
        else:
            raise AssertionError("the views were not republished:\n"
                                 + logs["worker"].read_text()[-3000:])
        assert look_up("a") == look_up("b")
        for client in clients.values():
            client.close()

    log = AuditLog(engine)
    reads = log.search(actor=office_id, limit=1000)
    assert len(reads) == 2 * LOOKUPS + 2  # one record per look-up, from both hosts
    assert {(r["action"], r["resident_key"]) for r in reads} == {("resident.read", key)}
    assert not [r for r in reads if r["outcome"].startswith("refused")]
    assert log.verify() == VerifyResult(True, log.head()[0], None, None)
    engine.dispose()
