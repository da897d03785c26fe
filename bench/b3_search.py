"""B3: resident search over HTTP under 16 and 64 concurrent clients, against /healthz.

A hub home is built with `hub demo --no-serve` (generate, ingest the four extracts, publish the
views; quality checks off to save time), an admin token is created with `hub token create`,
and `hub serve` answers on a free port of 127.0.0.1. `bench.loadgen` runs in its own process
(time-bounded phases): `POST /v1/residents/search` with ID numbers from the grid extract (read
from a file, never printed), then the trivial `GET /healthz` of the same server and workers.
Each search writes an audit record, as in production. One load run per client count.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from bench.common import Bench, Context, Row

CLIENTS = (16, 64)
SECONDS = 8.0
IDS = 2_000
TARGET_RATIO = 0.5
TARGET_P99_MS = 10.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hub(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True,
                          text=True, check=True)
    return proc.stdout


def prepare_home(ctx: Context, home: Path) -> tuple[dict[str, str], str, Path]:
    """(environment, admin token, file of ID numbers) of a published demo home."""
    env = {**os.environ, "HUB_HOME": str(home), "HUB_QUALITY_CHECKS": "false",
           "NO_COLOR": "1", "TERM": "dumb"}
    _hub(env, "demo", "--residents", str(ctx.residents), "--seed", str(ctx.seed),
         "--no-serve")
    token = _hub(env, "token", "create", "--role", "admin", "--name", "bench").split()[-1]
    grid = next((home / "demo").glob("district-*/")) / Path(
        ctx.manifest.datasets["grid"].path).name
    ids = pd.read_csv(grid, dtype=str, usecols=["身份证号"])["身份证号"].dropna()
    ids_file = home.parent / "ids.txt"
    ids_file.write_text("\n".join(ids.head(IDS)) + "\n", encoding="utf-8")
    return env, token, ids_file


@contextlib.contextmanager
def serving(env: dict[str, str], port: int, workers: int) -> Any:
    server = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hub serve did not answer (exit {server.poll()})")
            time.sleep(0.5)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)  # its own session: server and its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def load(port: int, token: str, ids: Path, clients: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.loadgen", "--url", f"http://127.0.0.1:{port}",
         "--token", token, "--ids", str(ids), "--concurrency", str(clients),
         "--seconds", str(SECONDS)], capture_output=True, text=True, check=True)
    return dict(json.loads(proc.stdout))


def run(ctx: Context) -> Bench:
    started = time.perf_counter()
    folder = ctx.workdir / "b3"
    folder.mkdir(exist_ok=True)
    env, token, ids = prepare_home(ctx, folder / "home")
    port = _free_port()
    workers = max(1, os.cpu_count() or 1)
    results: dict[int, dict[str, Any]] = {}
    with serving(env, port, workers):
        load(port, token, ids, 4)  # warm-up: each worker's first requests
        for clients in CLIENTS:
            results[clients] = load(port, token, ids, clients)
    rows = []
    met = True
    for clients, res in results.items():
        s, h = res["search"], res["healthz"]
        ratio = s["requests_per_s"] / h["requests_per_s"]
        rows.append(Row(f"search, {clients} clients", f"{s['requests_per_s']:,.0f} req/s, "
                        f"p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms", f"{ratio:.2f}x healthz",
                        "statuses " + json.dumps(s["statuses"])))
        rows.append(Row(f"reference: /healthz, {clients} clients",
                        f"{h['requests_per_s']:,.0f} req/s, p50 {h['p50_ms']} ms, "
                        f"p99 {h['p99_ms']} ms", "1.00x", "statuses " + json.dumps(h["statuses"])))
        met = met and ratio >= TARGET_RATIO
        if clients == 16:
            met = met and s["p99_ms"] is not None and s["p99_ms"] <= TARGET_P99_MS
    notes = [f"{workers} API worker(s) (one per core), {SECONDS:.0f} s per phase, load generator "
             "in its own process on the same machine (it competes for the same cores).",
             f"Published residents: {ctx.residents:,}, not the 1M of the target.",
             "Lead to investigate: a manual probe on this machine (fresh home, 100 sequential "
             "keep-alive `curl` GETs of /healthz) took 2.2 ms per request with "
             "`hub serve --workers 1` and 46 ms with `--workers 2`, while the hub's access log "
             "put the handler at about 2 ms in both: about 44 ms per request is lost outside "
             "the app in the multi-worker server path, which caps both endpoints here."]
    return Bench("B3", "resident search over HTTP vs a trivial endpoint",
                 "at least 0.5x /healthz requests/s; p99 at most 10 ms at 16 clients", met,
                 rows, notes, time.perf_counter() - started)
