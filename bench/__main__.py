"""`python -m bench`: run the benchmarks on a generated district and write docs/benchmarks.md.

    python -m bench [--residents N] [--only B1,B5] [--runs K] [--out docs/benchmarks.md]

Each run records its figures in docs/benchmarks/results.json, keyed by benchmark and size,
and redraws the page and its SVG charts from all recorded runs (bench/results.py): B2 is
judged at 10M rows, the others at 1M residents, and one run rarely does both. B12, the city
run end to end (10M residents), runs only when named: `--only B12`.

Everything else happens in a temporary folder (demo extracts, hub homes, audit databases)
that is removed at the end, except the published home B3 and B4 serve: it is built once per
size and seed and kept under HUB_BENCH_CACHE (default ~/.cache/community-data-hub/bench;
delete it to rebuild). Each benchmark is a module `bench.b<n>_*` with `run(ctx) -> Bench`.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import results
from bench.common import Bench, Context, peak_rss_bytes

# Order of the run: cheapest and most independent first.
MODULES = {
    "B6": "bench.b6_demo",
    "B7": "bench.b7_validate",
    "B5": "bench.b5_audit",
    "B1": "bench.b1_ingest",
    "B2": "bench.b2_memory",
    "B3": "bench.b3_search",
    "B4": "bench.b4_ingest",
    "B8": "bench.b8_publish",
    "B9": "bench.b9_incremental",
    "B11": "bench.b11_linkage",
    "B12": "bench.b12_city",  # long at its target size: run it alone
}
NOT_BUILT: dict[str, str] = {}
# Run only when named (`--only B12`): the city run is long at its target size.
ON_REQUEST = {"B12"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--only", default="", help="comma-separated, e.g. B1,B5")
    parser.add_argument("--runs", type=int, default=3, help="repeats per figure (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--audit-records", type=int, default=1_000_000,
                        help="records in the log B5 verifies")
    parser.add_argument("--render", action="store_true",
                        help="only redraw the page from the recorded results; run nothing")
    args = parser.parse_args(argv)
    if args.render:
        store = args.out.parent / args.out.stem / "results.json"
        args.out.write_text(results.render(store, args.out), encoding="utf-8")
        print(f"wrote {args.out} from {store}")
        return 0
    wanted = [k.strip().upper() for k in args.only.split(",") if k.strip()] \
        or [k for k in MODULES if k not in ON_REQUEST]
    unknown = [k for k in wanted if k not in MODULES and k not in NOT_BUILT]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: "
                     f"{', '.join([*MODULES, *NOT_BUILT])}")
    started = datetime.now(UTC)
    command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    missing = {k: v for k, v in NOT_BUILT.items() if k in wanted or not args.only}
    benches: list[Bench] = []
    from hub.demo import generate_demo

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        demo = work / "demo"
        manifest = generate_demo(demo, residents=args.residents, seed=args.seed)
        generated = time.perf_counter() - t
        print(f"demo district of {args.residents:,} residents in {generated:.1f} s", flush=True)
        ctx = Context(args.residents, args.runs, work, demo, manifest, args.seed)
        ctx.audit_records = args.audit_records
        ctx.generate_seconds, ctx.generate_peak = generated, peak_rss_bytes()
        for key in [k for k in MODULES if k in wanted]:
            print(f"{key} ...", flush=True)
            try:
                bench = importlib.import_module(MODULES[key]).run(ctx)
            except Exception as exc:  # one broken benchmark must not lose the others' figures
                traceback.print_exc()
                missing[key] = f"failed: {exc.__class__.__name__}: {exc}"
                continue
            benches.append(bench)
            verdict = {True: "met", False: "MISSED", None: "-"}[bench.met]
            print(f"{key}: {verdict} ({bench.seconds:.0f} s)", flush=True)
            for row in bench.rows:
                print(f"  {row.what}: {row.value} {row.ratio}", flush=True)
    store = args.out.parent / args.out.stem / "results.json"
    results.record(store, benches, residents=args.residents, seed=args.seed, runs=args.runs,
                   command=command, started=started, failed=missing)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(results.render(store, args.out), encoding="utf-8")
    print(f"wrote {args.out} (and {store})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
