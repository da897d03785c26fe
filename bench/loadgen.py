"""A bounded HTTP load generator for the hub's API on 127.0.0.1.

    python -m bench.loadgen --url http://127.0.0.1:8000 --token T --ids ids.txt \\
        --concurrency 16 --seconds 20

Runs two phases against the same server with the same workers: the resident search
(`POST /v1/residents/search` with ID numbers read from a file, never printed) and the trivial
reference endpoint (`GET /healthz`). Prints requests/s and p50/p99 latency of each as JSON.
Traffic goes only to the URL given, which must be on the loopback interface.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx


async def _phase(url: str, token: str, ids: list[str] | None, concurrency: int,
                 seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    cycle = itertools.cycle(ids) if ids else None
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=30) as client:
        async def one_client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if cycle is not None:
                    body = {"id_number": next(cycle), "purpose": "assistance_review"}
                    response = await client.post("/v1/residents/search", json=body)
                else:
                    response = await client.get("/healthz")
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies), "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2)
        if latencies else None,
        "statuses": statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--ids", type=Path, required=True, help="file of ID numbers, one a line")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    host = urlparse(args.url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise SystemExit("load is only sent to the loopback interface")
    ids = [line.strip() for line in args.ids.read_text("utf-8").splitlines() if line.strip()]
    search = asyncio.run(_phase(args.url, args.token, ids, args.concurrency, args.seconds))
    trivial = asyncio.run(_phase(args.url, args.token, None, args.concurrency, args.seconds))
    print(json.dumps({"concurrency": args.concurrency, "search": search,
                      "healthz": trivial}, indent=2))


if __name__ == "__main__":
    main()
