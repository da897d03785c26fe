"""Shared pieces of the benchmarks: timing, the machine, versions, results and the report.

Every benchmark returns a `Bench`: a table of measured figures (median of K runs), the
reference measured in the same run, the target and whether it was met. `render` turns a list
of them into docs/benchmarks.md.
"""

from __future__ import annotations

import hashlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

VERSIONED = ("duckdb", "pandas", "pandera", "great_expectations", "pyarrow", "fastapi")


@dataclass
class Row:
    what: str
    value: str
    ratio: str = ""  # against the benchmark's reference, measured in the same run
    note: str = ""


@dataclass
class Bench:
    key: str  # B1..B7
    title: str
    target: str
    met: bool | None  # None: not judged (not run, or a figure only)
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Optional chart (bench.charts): {"title", "unit", "bars": [{"label", "value",
    # "reference"}], "target", "target_label"}; rendered as SVG next to docs/benchmarks.md.
    chart: dict[str, Any] | None = None


@dataclass
class Context:
    """What every benchmark gets: the size, the repeats and the generated demo district."""

    residents: int
    runs: int
    workdir: Path
    demo_dir: Path
    manifest: Any  # hub.demo.DemoManifest
    seed: int = 7
    audit_records: int = 1_000_000
    generate_seconds: float = 0.0  # the runner's generation of the district, for B12
    generate_peak: int = 0


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, list[float], Any]:
    """Median wall seconds of `runs` calls, every sample, and the last call's result."""
    samples: list[float] = []
    result: Any = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), samples, result


def peak_rss_bytes() -> int:
    """This process's peak RSS so far (the runner's, after generating: generation's)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def own_peak_rss_bytes() -> int:
    """This process's own peak RSS (VmHWM), for a benchmark's child process: its ru_maxrss
    would carry the runner's peak across fork and exec."""
    status = Path("/proc/self/status").read_text(encoding="ascii").split("VmHWM:")[1]
    return int(status.split()[0]) * 1024


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def fmt_rate(per_s: float, unit: str = "rows/s") -> str:
    return f"{per_s:,.0f} {unit}"


def samples_note(samples: list[float]) -> str:
    return "runs: " + ", ".join(f"{s:.3f}" for s in samples) + " s"


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"CPU": cpu, "cores (nproc)": str(os.cpu_count()), "memory": mem,
            "kernel": platform.release(), "load average at start": load}


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# -- cached hub homes ------------------------------------------------------------------------
# A published home of 1M residents takes many minutes to build (generate, ingest, publish the
# views), and B3 and B4 only read it. It is built once per (size, seed, code fingerprint)
# under HUB_BENCH_CACHE (default ~/.cache/community-data-hub/bench) and each run works on a
# copy, because a run writes to it (tokens, audit records, B4's ingests).

CACHE_ENV = "HUB_BENCH_CACHE"
# What decides whether a cached home still fits the code (contracts, view tables, keys, the
# registry's blocking index, which a timed publish would otherwise rebuild): a change
# rebuilds it. Kept narrow on purpose (a 1M rebuild costs long minutes); after a
# change to the demo generator or the view contents, delete the cache folder by hand. The
# cached home keeps its (empty) audit table: the state store's migrations made it, and no
# server recreates a dropped one.
HOME_INPUTS = ("schemas/contracts/*.yaml", "hub/views/store.py", "hub/views/publish.py",
               "desensitize/pseudonym.py", "hub/pipeline/registry_index.py",
               "hub/pipeline/registry_forms.py", "hub/pipeline/registry_open.py")
_ROOT = Path(__file__).resolve().parents[1]


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "community-data-hub"
                / "bench")


def home_fingerprint(inputs: tuple[str, ...] = HOME_INPUTS) -> str:
    digest = hashlib.sha256()
    for pattern in inputs:
        for path in sorted(_ROOT.glob(pattern)):
            digest.update(path.relative_to(_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def cached_build(kind: str, ctx: Context, build: Callable[[Path], None],
                 inputs: tuple[str, ...] = HOME_INPUTS) -> Path:
    """Folder of a `kind` build for ctx's size and seed, made by `build(folder)` only when
    the cache does not hold it yet (or holds it for other code: the files `inputs` match).
    Older builds of the same kind, size and seed are removed: each costs gigabytes at 1M
    residents."""
    root = cache_root()
    stem = f"{kind}-r{ctx.residents}-s{ctx.seed}"
    final = root / f"{stem}-{home_fingerprint(inputs)}"
    if (final / ".complete").exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    partial = root / f".{final.name}.{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        build(partial)
        (partial / ".complete").write_text(datetime.now(UTC).isoformat() + "\n")
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    for old in root.glob(f"{stem}-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def working_copy(source: Path, target: Path) -> Path:
    """A private copy of a cached build (modes kept: the keys folder stays owner-only)."""
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("cp"):  # reflinks where the file system has them, else a plain copy
        subprocess.run(["cp", "-a", "--reflink=auto", str(source), str(target)], check=True)
    else:
        shutil.copytree(source, target, symlinks=True)
    return target
