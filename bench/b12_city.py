"""B12: a city, end to end: generate, ingest the four extracts, publish, then search.

The long run of issue 15 (`python -m bench --only B12 --residents 10000000 --runs 1`): every
step as an operator would run it, on a new home with the hub's default settings (quality
checks and the registry's duplicate search on), each step in a process of its own so that its
peak RSS is its own:

- generate: the demo district's extracts (the runner's own first step, measured there);
- keys: `hub keys init`'s four keys;
- ingest, once per department: read, validate, de-identify and load the extract (quality
  suites and, for the grid registry, its duplicate search included);
- crosswalk: the grid-code crosswalk;
- publish: the ledger and every resident and household view;
- search: `hub serve` on the published home and resident search under 16 clients
  (bench.loadgen), as B3 measures it.

One setting differs from the defaults, as a city's operator would set it: the largest extract a
batch accepts (HUB_MAX_EXTRACT_BYTES), whose default suits a street's monthly extract and refuses
a city's. A step that does not load is a failed run, not a fast one: the run stops there and
records the steps before it.

Target: all steps in at most 30 minutes and at most 4 GB peak RSS in any of them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.b3_search import IDS, Site, _free_port, figure, hub_env, load, serving
from bench.common import Bench, Context, Row, fmt_s

TARGET_SECONDS = 30 * 60.0
TARGET_BYTES = 4 * 1024**3
DATASETS = ("grid", "elderly_care", "medical", "employment")
SEARCH_CLIENTS = 16

# One step in its own process: {"step", "home", ...} on argv; prints seconds, its own peak
# RSS, CPU.
CHILD = """
import json, resource, sys, time
from bench.common import own_peak_rss_bytes
from pathlib import Path
from hub.settings import HubSettings
from hub.pipeline.worker import PipelineWorker
order = json.loads(sys.argv[1])
settings = HubSettings(home=Path(order["home"]))
started = time.perf_counter()
report = {}
if order["step"] == "keys":
    from hub.keys.config import init_keys
    init_keys(settings)
else:
    with PipelineWorker(settings) as worker:
        if order["step"] == "ingest":
            result = worker.ingest(Path(order["source"]), Path(order["extract"]))
            report = {"outcome": result.outcome, "rows_loaded": result.rows_loaded,
                      "rows_quarantined": result.rows_quarantined, "timings": result.timings}
        elif order["step"] == "crosswalk":
            report = worker.load_crosswalk(Path(order["crosswalk"]))
        else:
            report = worker.publish()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": time.perf_counter() - started, "peak": own_peak_rss_bytes(),
                  "cpu": usage.ru_utime + usage.ru_stime, "report": report}, default=str))
"""


def failure_summary(stderr: str) -> str:
    """The error a step's process died of, and the last frame of the project's own code that
    raised it (a path inside the project, line and function)."""
    lines = stderr.strip().splitlines()
    error = next((line for line in reversed(lines)
                  if re.match(r"^[\w.]+(Error|Exception|Interrupt)\b", line)), lines[-1] if lines
                 else "no output")
    frames = re.findall(r'File "[^"]*?/((?:hub|connectors|schemas|desensitize|catalog)/[^"]+)", '
                        r"line (\d+), in (\w+)", stderr)
    where = f" (raised in {frames[-1][0]} line {frames[-1][1]}, {frames[-1][2]})" if frames else ""
    return error[:300] + where


def _step(order: dict[str, str], max_extract_bytes: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_MAX_EXTRACT_BYTES"] = str(max_extract_bytes)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(order)], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"step {order['step']} failed ({proc.returncode}): "
                           f"{failure_summary(proc.stderr)}")
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    outcome = out["report"].get("outcome", "loaded")
    if outcome != "loaded":
        raise RuntimeError(f"step {order['step']} {order.get('dataset', '')} ended {outcome}: "
                           f"{out['report']}")
    out["wall"] = time.perf_counter() - started  # with the process's start-up
    print(f"  {order['step']} {order.get('dataset', '')}: {out['wall']:.1f} s, "
          f"peak {out['peak'] / 1024**2:,.0f} MiB", flush=True)
    return out


def _search(ctx: Context, home: Path, folder: Path) -> dict[str, Any]:
    """Resident search under SEARCH_CLIENTS clients on the published home, as B3 runs it."""
    import pandas as pd

    grid = Path(ctx.manifest.datasets["grid"].path)
    column = "身份证号"
    ids = pd.read_csv(grid, dtype=str, usecols=[column], nrows=IDS)[column].dropna()
    id_file = folder / "ids.txt"
    id_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
    env = hub_env(home)
    token = subprocess.run([sys.executable, "-m", "hub", "token", "create", "--role", "admin",
                            "--name", "bench-city"], env=env, capture_output=True, text=True,
                           check=True).stdout.split()[-1]
    port = _free_port()
    with serving(env, port, os.cpu_count() or 1, folder / "serve.log") as server:
        return load(port, Site(home, id_file, token), "search", SEARCH_CLIENTS,
                    session=os.getsid(server.pid))


def run(ctx: Context) -> Bench:
    started = time.perf_counter()
    folder = ctx.workdir / "b12"
    home = folder / "home"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    largest = max(Path(ctx.manifest.datasets[name].path).stat().st_size for name in DATASETS)
    limit = max(512 * 1024**2, 2 * largest)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("generate", {"wall": ctx.generate_seconds, "peak": ctx.generate_peak, "cpu": None})]
    orders: list[tuple[str, dict[str, str]]] = [("keys", {"step": "keys", "home": str(home)})]
    for name in DATASETS:
        extract = ctx.manifest.datasets[name]
        orders.append((f"ingest {name}", {
            "step": "ingest", "dataset": name, "home": str(home),
            "source": str(extract.source_yaml), "extract": str(extract.path)}))
    orders.append(("crosswalk", {"step": "crosswalk", "home": str(home),
                                 "crosswalk": str(ctx.manifest.crosswalk)}))
    orders.append(("publish", {"step": "publish", "home": str(home)}))
    failed: str | None = None
    for what, order in orders:
        try:
            steps.append((what, _step(order, limit)))
        except RuntimeError as exc:  # the steps before it are still worth recording
            failed = f"{what}: {exc}"
            break
    searched = _search(ctx, home, folder) if failed is None else None
    total = sum(s["wall"] for _, s in steps)
    peak = max(s["peak"] for _, s in steps)
    hub_peak = max(s["peak"] for what, s in steps if what != "generate")
    budget = f"{total / TARGET_SECONDS:.2f}x the 30 min budget" if failed is None \
        else "did not finish"
    rows = [Row("all steps" if failed is None else "the steps that finished", fmt_s(total),
                budget, f"largest peak RSS {peak / 1024**2:,.0f} MiB, "
                f"{peak / TARGET_BYTES:.2f}x the 4 GB budget; of the hub's own steps "
                f"{hub_peak / 1024**2:,.0f} MiB")]
    for what, s in steps:
        report = s.get("report") or {}
        note = ""
        timings = {k: float(v) for k, v in (report.get("timings") or {}).items()}
        if what.startswith("ingest"):
            note = (f"{report.get('outcome')}: {report.get('rows_loaded', 0):,} rows loaded, "
                    f"{report.get('rows_quarantined', 0):,} quarantined")
            searched_for = timings.pop("registry_duplicates", None)
            note += f"; the batch's stages {sum(timings.values()):.0f} s"
            if searched_for is not None:
                note += f", the registry's index and duplicate search {searched_for:.0f} s"
        elif what == "publish":
            note = (f"{report.get('residents', 0):,} residents, "
                    f"{report.get('households', 0):,} households; "
                    + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
        if s.get("cpu") is not None:
            note += ("; " if note else "") + f"CPU {s['cpu']:.0f} s"
        rows.append(Row(what, fmt_s(s["wall"]), f"peak {s['peak'] / 1024**2:,.0f} MiB", note))
    if searched is not None:
        rows.append(Row(f"then resident search, {SEARCH_CLIENTS} clients", figure(searched), "",
                        f"{os.cpu_count()} API workers; statuses {searched['statuses']}"))
    else:
        rows.append(Row(f"failed at {failed}", "", "", "the steps after it did not run"))
    notes = [f"{ctx.residents:,} residents on a new home with the default settings but the "
             f"largest extract accepted ({limit / 1024**2:,.0f} MiB); each step in a process of "
             "its own (wall time with its start-up; peak RSS its VmHWM); generation in the "
             f"runner's process (its ru_maxrss); {os.cpu_count()} cores, load average at the "
             f"end {os.getloadavg()[0]:.1f}."]
    if ctx.residents < 10_000_000:
        notes.append("The target is stated for a city of 10M residents; this run is smaller.")
    met = failed is None and total <= TARGET_SECONDS and peak <= TARGET_BYTES \
        if ctx.residents >= 10_000_000 else None
    return Bench("B12", "a city, end to end",
                 "10M residents generated, ingested and published in at most 30 minutes and "
                 "4 GB peak RSS; then B3's search on that home",
                 met, rows, notes, time.perf_counter() - started)
