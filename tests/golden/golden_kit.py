"""Golden files per department: a small real extract in each department's own format, and
what the hub must make of it (row issues, curated rows, counts).

`python -m tests.golden.golden_kit` rewrites the expected files from the current code; run it
only when a change of output is intended, and review the diff like any other change.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

import duckdb

from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings

GOLDEN = Path(__file__).parent
ROOT = GOLDEN.parents[1]
DATASETS = {
    "grid": "input.csv",
    "elderly_care": "input.csv",
    "medical": "input.xlsx",
    "employment": "input.jsonl",
}
# Fixed, public test keys: pseudonyms in the expected files are reproducible. Derived by
# hashing, because the key loader refuses placeholder keys such as bytes(range(32)).
PSEUDONYM_KEY = hashlib.sha256(b"community-data-hub golden test pseudonym key").digest()
VAULT_KEY = hashlib.sha512(b"community-data-hub golden test vault key").digest()


def write_test_keys(keys_dir: Path) -> None:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(keys_dir, 0o700)
    for name, key in (("pseudonym.key", PSEUDONYM_KEY), ("vault.key", VAULT_KEY)):
        path = keys_dir / name
        path.write_text(key.hex() + "\n", encoding="ascii")
        os.chmod(path, 0o600)


def _csv(cursor: duckdb.DuckDBPyConnection) -> str:
    """Rows as CSV text with exact values (decimals keep their two places)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([d[0] for d in cursor.description or []])
    for row in cursor.fetchall():
        writer.writerow(["" if v is None else str(v) for v in row])
    return buffer.getvalue()


def ingest_golden(home: Path) -> dict[str, dict[str, object]]:
    """Ingest every golden input into a fresh home; return what the hub made of each."""
    settings = HubSettings(home=home, chunk_rows=1_000, quality_checks=False)
    write_test_keys(settings.keys_dir)
    outputs: dict[str, dict[str, object]] = {}
    with PipelineWorker(settings) as worker:
        for dataset, name in DATASETS.items():
            result = worker.ingest(ROOT / "connectors" / "sources" / f"{dataset}.yaml",
                                   GOLDEN / dataset / name)
            outputs[dataset] = {"summary": {
                "outcome": result.outcome, "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded, "rows_quarantined": result.rows_quarantined,
            }}
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for dataset in DATASETS:
            outputs[dataset]["issues"] = _csv(con.execute(
                "SELECT source_row, column_name, rule, severity FROM quarantine.row_issues "
                "WHERE dataset = ? ORDER BY ALL", [dataset]))
            outputs[dataset]["curated"] = _csv(con.execute(
                f"SELECT * EXCLUDE (batch_id) FROM curated.{dataset} ORDER BY source_row"))
    finally:
        con.close()
    return outputs


def regenerate(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
    for dataset, result in ingest_golden(scratch).items():
        folder = GOLDEN / dataset
        (folder / "expected_summary.json").write_text(
            json.dumps(result["summary"], indent=2) + "\n", encoding="utf-8")
        (folder / "expected_issues.csv").write_text(str(result["issues"]), encoding="utf-8")
        (folder / "expected_curated.csv").write_text(str(result["curated"]), encoding="utf-8")


if __name__ == "__main__":
    regenerate(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/golden-home"))
