"""One batch: stage -> map -> validate -> quarantine -> de-identify -> load -> catalog.

Every extract becomes one batch. The batch is idempotent on its content (the same bytes
again are reported as already ingested and add nothing), atomic (see `hub.warehouse.store`), and
rejected whole when its share of bad rows passes the contract's threshold. Rows are processed
chunk by chunk so a 10M-row extract never sits in memory whole.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from catalog.store import CatalogStore
from connectors.base import RawChunk
from connectors.errors import ConnectorError
from connectors.mapping import check_headers
from connectors.open import open_reader
from connectors.source import FILE_FORMATS, SourceSpec
from desensitize.deidentify import Deidentifier
from hub.pipeline.chunk_pool import ChunkProcesses
from hub.pipeline.chunks import ChunkJob, PreparedChunk, prepare_chunk, prepared_in_order
from hub.pipeline.load_modes import (
    HELD,
    compare_with_current,
    describe_change,
    drop_share,
    resolve_mode,
)
from hub.pipeline.sealing import CandidateSealer
from hub.pipeline.staging import BatchStage
from hub.warehouse.store import StagedBatch, Warehouse
from schemas.errors import SchemaError
from schemas.rule_labels import describe
from schemas.spec import ContractSpec

# progress(stage, done, total): stage "hash" counts bytes, "rows" counts rows read.
Progress = Callable[[str, int, int | None], None]

_HASH_BLOCK = 4 * 1024 * 1024


@dataclass
class BatchResult:
    batch_id: str
    dataset: str
    source: str
    # loaded | awaiting_confirmation (a snapshot dropping over max_drop, held) | rejected |
    # failed | already_ingested
    outcome: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    top_rules: list[dict[str, Any]] = field(default_factory=list)
    # {"errors": [...], "warnings": [...]}: per rule and column, rows, explanation, hint (zh).
    findings: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"errors": [], "warnings": []})
    timings: dict[str, float] = field(default_factory=dict)
    load_mode: str = "snapshot"
    rows_withdrawn: int = 0  # loaded rows that withdraw the fact of their key (corrections)
    rows_sealed: int = 0  # quarantined rows kept for linkage: only their ID number failed
    # What the batch does to the source's current data (hub.pipeline.load_modes).
    replaced: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in ("loaded", "already_ingested", HELD)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id, "dataset": self.dataset, "source": self.source,
            "outcome": self.outcome, "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded, "rows_quarantined": self.rows_quarantined,
            "reason": self.reason, "top_rules": self.top_rules, "findings": self.findings,
            "load_mode": self.load_mode, "replaced": self.replaced,
            "rows_withdrawn": self.rows_withdrawn, "rows_sealed": self.rows_sealed,
            "timings": self.timings,
        }


def file_sha256(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
            done += len(block)
            if progress:
                progress("hash", done, total)
    return digest.hexdigest()


def new_batch_id(dataset: str, content_sha256: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{dataset}-{stamp}-{content_sha256[:8]}"


def _already_ingested(batch_id: str, dataset: str, source: str) -> BatchResult:
    return BatchResult(batch_id, dataset, source, "already_ingested",
                       reason=f"the same content was loaded as batch {batch_id}")


class _Clock:
    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def add(self, stage: str, started: float) -> float:
        now = time.perf_counter()
        self.spent[stage] = self.spent.get(stage, 0.0) + now - started
        return now


def _timed_reads(chunks: Iterator[RawChunk], clock: _Clock) -> Iterator[RawChunk]:
    while True:
        t = time.perf_counter()
        raw = next(chunks, None)
        clock.add("read", t)
        if raw is None:
            return
        yield raw


def _hashed(chunks: Iterator[RawChunk], digest: Any) -> Iterator[RawChunk]:
    """Hash what a database or API returned, so re-pulling unchanged data is a no-op."""
    for chunk in chunks:
        digest.update(pd.util.hash_pandas_object(chunk.frame, index=True).to_numpy().tobytes())
        digest.update(chunk.malformed.to_csv(index=False).encode())
        yield chunk


class BatchIngest:
    """Runs one extract through the pipeline; owned by the pipeline worker."""

    def __init__(self, warehouse: Warehouse, catalog: CatalogStore,
                 deidentifier: Deidentifier, staging_dir: Path, *,
                 chunk_rows: int, max_extract_bytes: int,
                 sealer: CandidateSealer | None = None,
                 processes: ChunkProcesses | None = None) -> None:
        """`processes`: worker processes that prepare the chunks (hub.pipeline.chunk_pool);
        None: `deidentifier` prepares them on the batch's thread. `sealer` keeps the rows
        whose only fault is their ID number for linkage (on the batch's own thread)."""
        self.sealer = sealer
        self.warehouse = warehouse
        self.catalog = catalog
        self.deidentifier = deidentifier
        self.processes = processes
        self.staging_dir = staging_dir
        self.chunk_rows = chunk_rows
        self.max_extract_bytes = max_extract_bytes

    def run(self, spec: SourceSpec, contract: ContractSpec, extract: Path | None,
            progress: Progress | None = None, today: date | None = None,
            mode: str | None = None) -> BatchResult:
        """`mode`: the load mode asked for (None: the source's own); LoadModeNotAllowed
        when the source does not allow it."""
        today = today or date.today()
        load_mode = resolve_mode(spec, mode)
        started_at = datetime.now(UTC)
        clock = _Clock()
        t = time.perf_counter()
        is_file = spec.format in FILE_FORMATS
        location = str(extract) if is_file else spec.name
        content_sha = ""
        if is_file:
            assert extract is not None
            if extract.is_file() and extract.stat().st_size <= self.max_extract_bytes:
                content_sha = file_sha256(extract, progress)
                existing = self.warehouse.find_loaded(contract.name, content_sha)
                if existing:
                    return _already_ingested(existing, contract.name, spec.name)
        t = clock.add("hash", t)
        batch_id = new_batch_id(contract.name, content_sha or hashlib.sha256(
            f"{spec.name}{started_at.isoformat()}".encode()).hexdigest())
        stage = BatchStage(self.staging_dir / batch_id, batch_id, contract.name)
        result = BatchResult(batch_id, contract.name, spec.name, "failed", load_mode=load_mode)
        digest = hashlib.sha256()
        manifest: dict[str, Any] = {}
        try:
            try:
                reader = open_reader(spec, extract, max_bytes=self.max_extract_bytes)
                location = reader.location
                check_headers(spec, contract, reader.headers(), reader.location,
                              getattr(reader, "leading_rows", None))
                chunks = reader.chunks(self.chunk_rows)
                if not is_file:
                    chunks = _hashed(chunks, digest)
                self._stage_chunks(spec, contract, chunks, stage, result, clock, progress, today)
            except (ConnectorError, SchemaError) as exc:
                # Nothing of a batch that could not be read is kept, not even its row issues.
                result.outcome, result.reason = "failed", str(exc)
                result.rows_loaded = 0
                staged = StagedBatch([], [], [], None)
            else:
                if not is_file:
                    content_sha = digest.hexdigest()
                    existing = self.warehouse.find_loaded(contract.name, content_sha)
                    if existing:
                        return _already_ingested(existing, contract.name, spec.name)
                t = time.perf_counter()
                self._finish_checks(contract, stage, result,
                                    sealed_expected=result.rows_sealed if spec.no_id else 0)
                staged = stage.staged()
                t = clock.add("dedupe", t)
                if result.outcome == "loaded":
                    self._apply_mode(spec, contract, staged, result)
                    t = clock.add("compare", t)
            manifest = self._manifest(spec, contract, result, location, content_sha,
                                      started_at, clock, stage)
            t = time.perf_counter()
            self.warehouse.commit_batch(contract, manifest, staged,
                                        load_rows=result.outcome in ("loaded", HELD))
            clock.add("commit", t)
        finally:
            stage.remove()
        result.timings = {k: round(v, 3) for k, v in clock.spent.items()}
        manifest["timings"] = result.timings
        manifest["top_rules"] = result.top_rules
        self.catalog.record_batch(manifest)
        return result

    def _stage_chunks(self, spec: SourceSpec, contract: ContractSpec,
                      chunks: Iterator[RawChunk], stage: BatchStage, result: BatchResult,
                      clock: _Clock, progress: Progress | None, today: date) -> None:
        """Chunks are read here and taken in, in order; the steps between (staged files
        included) run on this thread or in the worker processes (hub.pipeline.chunks). Step
        seconds are summed over the processes; "read" is the time spent waiting for the
        next chunk, "stage" here the sealing of rows kept for linkage."""
        read = _timed_reads(chunks, clock)
        job = ChunkJob(spec, contract, today, stage.batch_id, stage.folder)

        def prepare(raw: RawChunk, number: int) -> PreparedChunk:
            return prepare_chunk(job, raw, number, self.deidentifier)

        workers = self.processes.bind(job) if self.processes is not None else None
        for ready in prepared_in_order(read, prepare, workers):
            t = time.perf_counter()
            stage.add_chunk(ready.files)
            if self.sealer is not None and ready.sealable is not None and len(ready.sealable):
                sealed = self.sealer.seal(contract, ready.sealable, stage.batch_id,
                                          spec.grid_scheme)
                stage.add_sealed(sealed.curated, sealed.vault)
                result.rows_sealed += len(ready.sealable)
            clock.add("stage", t)
            for name, seconds in ready.seconds.items():
                clock.spent[name] = clock.spent.get(name, 0.0) + seconds
            result.rows_withdrawn += ready.rows_withdrawn
            result.rows_read += ready.rows_read
            result.rows_loaded += ready.rows_good
            result.rows_quarantined += ready.rows_bad
            if progress:
                progress("rows", result.rows_read, None)

    def _finish_checks(self, contract: ContractSpec, stage: BatchStage,
                       result: BatchResult, sealed_expected: int = 0) -> None:
        """`sealed_expected`: rows of an extract without ID numbers, sealed for linkage as
        intended; they do not count against the contract's bad-row threshold."""
        keys = [contract.column(k).curated_name for k in contract.unique]
        duplicates = self.warehouse.count_duplicate_keys(
            stage.curated, [k for k in keys if k], stage.rejected_rows_path())
        if duplicates:
            rows = pd.read_parquet(stage.rejected_rows_path())["source_row"]
            stage.add_issues(pd.DataFrame({"source_row": rows, "column": "*",
                                           "rule": "duplicate_key"}), "error")
            result.rows_loaded -= duplicates
            result.rows_quarantined += duplicates
        result.findings = self._findings(stage)
        result.top_rules = [{k: f[k] for k in ("column", "rule", "rows")}
                            for f in result.findings["errors"][:10]]
        if result.rows_read == 0:
            result.outcome, result.reason = "rejected", "the extract has no data rows"
            result.rows_loaded = 0
            return
        bad = result.rows_quarantined - sealed_expected
        share = bad / result.rows_read
        if share > contract.bad_row_threshold:
            worst = ", ".join(f"{r['column']} {r['rule']} ({r['rows']} rows)"
                              for r in result.top_rules[:3])
            result.outcome, result.rows_loaded = "rejected", 0
            result.reason = (
                f"{bad} of {result.rows_read} rows ({share:.1%}) break "
                f"contract {contract.name} v{contract.version}, over the "
                f"{contract.bad_row_threshold:.0%} threshold; most common: {worst}")
        else:
            result.outcome = "loaded"

    def _apply_mode(self, spec: SourceSpec, contract: ContractSpec, staged: StagedBatch,
                    result: BatchResult) -> None:
        """Say what the batch replaces; hold a snapshot that drops too much."""
        change = compare_with_current(self.warehouse.con, contract.name, spec.name,
                                      staged.curated, staged.rejected_rows)
        change["rows_withdrawn"] = result.rows_withdrawn
        result.replaced = {**change, "summary": describe_change(result.load_mode, change)}
        share = drop_share(change)
        if result.load_mode == "snapshot" and change["rows_current"] and share > spec.max_drop:
            result.outcome = HELD
            result.reason = (
                f"held, not in use: this snapshot would drop {change['rows_dropped']} of "
                f"{change['rows_current']} current rows and {change['residents_dropped']} of "
                f"{change['residents_current']} residents of source '{spec.name}' "
                f"({share:.0%}, over the {spec.max_drop:.0%} allowed). If the file is a "
                f"partial (supplementary) extract, discard this batch and send it as a delta; "
                f"if it really is the whole current data, confirm it "
                f"(hub batches confirm {result.batch_id}, or hub batches discard)")

    def _findings(self, stage: BatchStage) -> dict[str, list[dict[str, Any]]]:
        """Errors (rows not loaded) apart from warnings (rows loaded), counted per rule and
        column, each with what it means and how to fix it at source."""
        out: dict[str, list[dict[str, Any]]] = {"errors": [], "warnings": []}
        if not stage.issues:
            return out
        files = "[" + ", ".join(f"'{p}'" for p in stage.issues) + "]"
        rows = self.warehouse.con.execute(
            f"SELECT severity, column_name, rule, count(DISTINCT source_row) AS n "
            f"FROM read_parquet({files}) GROUP BY ALL ORDER BY n DESC, column_name, rule"
        ).fetchall()
        for severity, column, rule, n in rows:
            explanation, hint = describe(rule)
            out["errors" if severity == "error" else "warnings"].append(
                {"column": column, "rule": rule, "rows": int(n), "explanation": explanation,
                 "hint": hint})
        return out

    def _manifest(self, spec: SourceSpec, contract: ContractSpec, result: BatchResult,
                  location: str, content_sha: str, started_at: datetime, clock: _Clock,
                  stage: BatchStage) -> dict[str, Any]:
        as_of = None
        if (result.outcome in ("loaded", HELD) and stage.curated
                and "as_of" in contract.column_names):
            files = "[" + ", ".join(f"'{p}'" for p in stage.curated) + "]"
            row = self.warehouse.con.execute(
                f"SELECT max(as_of) FROM read_parquet({files})").fetchone()
            as_of = row[0] if row else None
        return {
            "batch_id": result.batch_id, "dataset": contract.name, "source": spec.name,
            "department": spec.department, "location": location,
            "content_sha256": content_sha, "contract_version": contract.version,
            "grid_scheme": spec.grid_scheme, "rows_read": result.rows_read,
            "rows_loaded": result.rows_loaded if result.outcome in ("loaded", HELD) else 0,
            "rows_quarantined": result.rows_quarantined, "outcome": result.outcome,
            "reason": result.reason, "as_of": as_of, "started_at": started_at,
            "finished_at": datetime.now(UTC),
            "timings": json.dumps({k: round(v, 3) for k, v in clock.spent.items()}),
            "top_rules": json.dumps(result.top_rules), "load_mode": result.load_mode,
        }
