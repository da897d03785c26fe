"""A bounded HTTP load generator for the hub's API on 127.0.0.1.

    python -m bench.loadgen --url http://127.0.0.1:8000 --token T --ids ids.txt \\
        --concurrency 16 --seconds 20 [--phases search,healthz] [--engine auto|wrk|httpx]

Phases: the resident search (`POST /v1/residents/search` with ID numbers read from a file,
never printed), the trivial reference endpoint (`GET /healthz`) of the same server and
workers, and `hello` (`GET /`) for the bare reference app of bench.bare_app. Prints, per
phase, requests/s, p50/p99 latency, the status counts and the CPU the generator itself used
(seconds, and cores = seconds / wall): it runs on the same machine as the server and
competes for the same cores.

Engine: `wrk` (C, an event loop per thread; Debian package `wrk`) when it is installed, else
a Python client (httpx, asyncio), which costs several times more CPU per request. Each phase
is bounded in time (wrk -d, or a deadline) and traffic goes only to a loopback URL.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

PHASES = ("search", "healthz", "hello")
# The request path of each GET phase ("hello": B3's bare reference app, bench.bare_app).
GET_PATHS = {"healthz": "/healthz", "hello": "/"}
PURPOSE = "assistance_review"

# Per thread: one ID after another; statuses counted per thread and summed in done().
_WRK_SCRIPT = r"""
local mode = os.getenv("HUB_LOAD_MODE")
local token = os.getenv("HUB_LOAD_TOKEN")
local ids_path = os.getenv("HUB_LOAD_IDS")
local threads = {}
local ids, n, i = {}, 0, 0
statuses = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  if mode == "search" then
    for line in io.lines(ids_path) do
      if #line > 0 then
        n = n + 1
        ids[n] = line:gsub("\\", "\\\\"):gsub('"', '\\"')
      end
    end
  end
end
function request()
  if mode == "search" then
    i = i % n + 1
    local body = '{"id_number":"' .. ids[i] .. '","purpose":"PURPOSE"}'
    return wrk.format("POST", "/v1/residents/search",
      {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", "GET_PATH")
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do parts[k] = (parts[k] or 0) + v end
  end
  local items = {}
  for k, v in pairs(parts) do table.insert(items, '"' .. k .. '": ' .. v) end
  local e = summary.errors
  io.write(string.format('\nHUB_LOAD_RESULT {"requests": %d, "us": %d, "p50_us": %d, ' ..
    '"p99_us": %d, "socket_errors": %d, "statuses": {%s}}\n', summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, table.concat(items, ", ")))
end
""".replace("PURPOSE", PURPOSE)


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _summary(requests: int, elapsed: float, p50_s: float | None, p99_s: float | None,
             statuses: dict[str, int], cpu: float, engine: str) -> dict[str, Any]:
    return {
        "engine": engine, "requests": requests, "seconds": round(elapsed, 2),
        "requests_per_s": round(requests / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": None if p50_s is None else round(1000 * p50_s, 2),
        "p99_ms": None if p99_s is None else round(1000 * p99_s, 2),
        "statuses": statuses,
        "client_cpu_s": round(cpu, 2),
        "client_cores": round(cpu / elapsed, 2) if elapsed > 0 else 0.0,
    }


def wrk_phase(url: str, token: str, ids: Path, phase: str, concurrency: int,
              seconds: float) -> dict[str, Any]:
    """One phase with wrk; its CPU is read from this process's finished children."""
    with tempfile.TemporaryDirectory(prefix="hub-load-") as tmp:
        script = Path(tmp) / "hub.lua"
        script.write_text(_WRK_SCRIPT.replace("GET_PATH", GET_PATHS.get(phase, "/healthz")),
                          encoding="utf-8")
        env = {**os.environ, "HUB_LOAD_MODE": phase, "HUB_LOAD_TOKEN": token,
               "HUB_LOAD_IDS": str(ids)}
        threads = max(1, min(2, concurrency))
        before = _cpu_seconds(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s",
             "--timeout", "30s", "-s", str(script), url],
            env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
        cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - before
    line = next(x for x in proc.stdout.splitlines() if x.startswith("HUB_LOAD_RESULT "))
    raw = json.loads(line.split(" ", 1)[1])
    elapsed = raw["us"] / 1e6
    return _summary(raw["requests"], elapsed, raw["p50_us"] / 1e6, raw["p99_us"] / 1e6,
                    {str(k): v for k, v in sorted(raw["statuses"].items())}, cpu, "wrk")


async def _httpx_phase(url: str, token: str, ids: list[str], phase: str, concurrency: int,
                       seconds: float) -> tuple[list[float], dict[str, int], float]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    cycle = itertools.cycle(ids) if ids else None
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=30) as client:
        async def one_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if phase == "search" and cycle is not None:
                    body = {"id_number": next(cycle), "purpose": PURPOSE}
                    response = await client.post("/v1/residents/search", json=body)
                else:
                    response = await client.get(GET_PATHS.get(phase, "/healthz"))
                latencies.append(time.perf_counter() - started)
                code = str(response.status_code)
                statuses[code] = statuses.get(code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, statuses, elapsed


def httpx_phase(url: str, token: str, ids: Path, phase: str, concurrency: int,
                seconds: float) -> dict[str, Any]:
    values = [line.strip() for line in ids.read_text("utf-8").splitlines() if line.strip()]
    before = _cpu_seconds(resource.RUSAGE_SELF)
    latencies, statuses, elapsed = asyncio.run(
        _httpx_phase(url, token, values, phase, concurrency, seconds))
    cpu = _cpu_seconds(resource.RUSAGE_SELF) - before
    latencies.sort()
    p50 = statistics.median(latencies) if latencies else None
    p99 = latencies[int(0.99 * (len(latencies) - 1))] if latencies else None
    return _summary(len(latencies), elapsed, p50, p99, dict(sorted(statuses.items())), cpu,
                    "httpx")


def choose_engine(engine: str) -> str:
    if engine == "auto":
        return "wrk" if shutil.which("wrk") else "httpx"
    if engine == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk); use "
                         "--engine httpx")
    return engine


def run_phase(url: str, token: str, ids: Path, phase: str, concurrency: int, seconds: float,
              engine: str = "auto") -> dict[str, Any]:
    host = urlparse(url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise SystemExit("load is only sent to the loopback interface")
    if phase not in PHASES:
        raise SystemExit(f"unknown phase {phase!r}; one of {', '.join(PHASES)}")
    run = wrk_phase if choose_engine(engine) == "wrk" else httpx_phase
    return run(url, token, ids, phase, concurrency, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--ids", type=Path, required=True, help="file of ID numbers, one a line")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--engine", choices=("auto", "wrk", "httpx"), default="auto")
    args = parser.parse_args()
    out: dict[str, Any] = {"concurrency": args.concurrency}
    for phase in [p.strip() for p in args.phases.split(",") if p.strip()]:
        out[phase] = run_phase(args.url, args.token, args.ids, phase, args.concurrency,
                               args.seconds, args.engine)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
