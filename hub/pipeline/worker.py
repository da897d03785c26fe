"""The pipeline worker: the only process that writes the warehouse.

Opening a worker takes the writer lock, opens the warehouse, creates missing tables from the
contracts, registers the contracts in the catalog, repairs the catalog from the warehouse
manifest (a worker killed between the two commits leaves the catalog one batch behind) and
removes staging leftovers, and runs the quality step of any batch that lacks one (a worker
killed after a warehouse commit). `ingest` then runs one extract as one batch.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from catalog.store import CatalogStore
from connectors.source import SourceSpec, load_source
from desensitize.deidentify import Deidentifier
from desensitize.keys import KeyRing
from desensitize.pseudonym import Pseudonymiser
from desensitize.vault import VaultCipher
from hub.keys.config import load_keyring
from hub.keys.rotation_state import refuse_if_rotating
from hub.pipeline.chunk_pool import ChunkProcesses
from hub.pipeline.ingest import BatchIngest, BatchResult, Progress
from hub.pipeline.load_modes import DISCARDED, HELD, BatchNotHeld
from hub.pipeline.sealing import REGISTRY, CandidateSealer
from hub.pipeline.staging import clear_leftovers
from hub.settings import HubSettings
from hub.state.migrate import open_state_store
from hub.warehouse.crosswalk import ensure_schema as ensure_crosswalk_schema
from hub.warehouse.crosswalk import load_crosswalk
from hub.warehouse.store import Warehouse
from hub.warehouse.writer_lock import WriterLock
from schemas.compile_catalog import catalog_entry
from schemas.registry import all_contracts, get_contract

log = logging.getLogger(__name__)


def open_catalog(settings: HubSettings) -> CatalogStore:
    return CatalogStore(open_state_store(settings.resolved_state_url))


class PipelineWorker:
    def __init__(self, settings: HubSettings, *, rotating: bool = False) -> None:
        self.settings = settings
        # Only the key rotation (hub.rotation) opens a worker while a rotation is half done.
        self._rotating = rotating
        self._lock = WriterLock(settings.writer_lock_path, settings.warehouse_path)
        self.warehouse: Warehouse | None = None
        self.catalog: CatalogStore | None = None
        self.deidentifier: Deidentifier | None = None
        # Worker processes preparing chunks (HUB_INGEST_WORKERS above one), with the keys.
        self._processes: ChunkProcesses | None = None
        self._keyring: KeyRing | None = None
        self._sealer: CandidateSealer | None = None
        self._sealer_deidentifier: Deidentifier | None = None

    def open(self) -> PipelineWorker:
        settings = self.settings
        # Keys first: a worker refused for its keys must not leave a new warehouse behind,
        # which would make `hub keys init` take the home for one that holds data.
        self._keyring = load_keyring(settings)
        settings.ensure_dirs()
        self._lock.acquire()
        try:
            self.warehouse = Warehouse(settings.warehouse_path,
                                       memory_limit=settings.warehouse_memory_limit,
                                       threads=settings.warehouse_threads)
            if not self._rotating:  # mid-rotation the keys no longer match the data
                refuse_if_rotating(self.warehouse.con)
            contracts = list(all_contracts().values())
            self.warehouse.ensure_schema(contracts)
            self.catalog = open_catalog(settings)
            for contract in contracts:
                self.catalog.register_contract(catalog_entry(contract))
            self.catalog.sync_batches(self.warehouse.batches())
            clear_leftovers(settings.staging_dir)
            self.deidentifier = Deidentifier(self._keyring)
            self._start_processes()
            ensure_crosswalk_schema(self.warehouse.con)
            if settings.quality_checks and not self._rotating:
                from hub.quality.hook import fill_missing_results

                fill_missing_results(settings, self.warehouse, self.catalog)
        except BaseException:
            self.close()
            raise
        return self

    def _start_processes(self) -> None:
        """The ingest worker processes, started in the background while the worker opens."""
        if self.settings.ingest_workers > 1 and self._keyring is not None \
                and self.deidentifier is not None:
            self._processes = ChunkProcesses(self._keyring, self.settings.ingest_workers)
            self._processes.start()

    def _candidate_sealer(self) -> CandidateSealer:
        """The sealer of ID-failing rows, with a Deidentifier of its own (the batch's thread
        may prepare chunks with the worker's own meanwhile)."""
        assert self._keyring is not None
        if self._sealer is None:
            self._sealer_deidentifier = Deidentifier(self._keyring)
            self._sealer = CandidateSealer(self._sealer_deidentifier,
                                           VaultCipher(self._keyring.vault_key),
                                           Pseudonymiser(self._keyring.pseudonym_key))
        return self._sealer

    def _close_helpers(self) -> None:
        """Close what holds key material besides the main Deidentifier (reloaded keys)."""
        if self._processes is not None:
            self._processes.close()
            self._processes = None
        if self._sealer is not None:
            self._sealer.close()
            self._sealer = None
        if self._sealer_deidentifier is not None:
            self._sealer_deidentifier.close()
            self._sealer_deidentifier = None

    def reload_keys(self) -> None:
        """Load the keys again: a key rotation replaced a key file while holding this worker."""
        self._keyring = load_keyring(self.settings)
        self._close_helpers()
        if self.deidentifier is not None:
            self.deidentifier.close()
            self.deidentifier = Deidentifier(self._keyring)
        self._start_processes()

    def close(self) -> None:
        self._close_helpers()
        if self.deidentifier is not None:
            self.deidentifier.close()
            self.deidentifier = None
        if self.warehouse is not None:
            self.warehouse.close()
            self.warehouse = None
        if self.catalog is not None:
            self.catalog.engine.dispose()
            self.catalog = None
        self._lock.release()

    def __enter__(self) -> PipelineWorker:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def ingest(self, source: SourceSpec | Path, extract: Path | None,
               progress: Progress | None = None, mode: str | None = None) -> BatchResult:
        if self.warehouse is None or self.catalog is None or self.deidentifier is None \
                or self._keyring is None:
            raise RuntimeError("open the worker before ingesting")
        spec = source if isinstance(source, SourceSpec) else load_source(source)
        contract = get_contract(spec.dataset)
        job = BatchIngest(self.warehouse, self.catalog, self.deidentifier,
                          self.settings.staging_dir, chunk_rows=self.settings.chunk_rows,
                          max_extract_bytes=self.settings.max_extract_bytes,
                          sealer=self._candidate_sealer(), processes=self._processes)
        result = job.run(spec, contract, extract, progress, mode=mode)
        if contract.name == REGISTRY and result.outcome == "loaded" \
                and self.settings.linkage.registry_duplicates:
            # Before the quality step, whose cross-department findings include these pairs.
            from hub.linkage.blocking import block_key
            from hub.pipeline.registry_duplicates import find_registry_duplicates

            started = time.perf_counter()
            find_registry_duplicates(self.warehouse.con, VaultCipher(self._keyring.vault_key),
                                     self.settings.linkage.auto_link,
                                     block_key(self._keyring.vault_key), progress=progress)
            result.timings["registry_duplicates"] = round(time.perf_counter() - started, 3)
        if self.settings.quality_checks and result.outcome in ("loaded", "rejected", HELD):
            # Imported here: the quality step loads Great Expectations, a slow import.
            from hub.quality.hook import check_committed_batch

            check_committed_batch(self.settings, self.warehouse, self.catalog, result.batch_id)
            if result.outcome == "loaded":
                self._verify_corrections(result.batch_id, spec.dataset)
        return result

    def _verify_corrections(self, batch_id: str, dataset: str) -> None:
        """Close the correction requests this batch shows corrected (hub.casework); like the
        quality step, a failure is logged and never undoes the loaded batch."""
        from hub.audit.log import AuditLog
        from hub.casework.verification import verify_after_batch

        assert self.catalog is not None
        engine = self.catalog.engine
        try:
            verify_after_batch(engine, AuditLog(engine, synchronous=self.settings.audit
                                                 .synchronous), batch_id, dataset)
        except Exception as exc:
            log.warning("correction requests not verified after batch %s (%s)", batch_id,
                        exc.__class__.__name__)

    def decide_held(self, batch_id: str, confirm: bool, actor: str,
                    today: date | None = None, publish: bool = True) -> dict[str, Any]:
        """Confirm a held snapshot (it becomes the source's current data) or discard it (it
        never does); then rebuild the ledger and views (unless `publish` is False).
        BatchNotHeld when the batch is not awaiting confirmation."""
        if self.warehouse is None or self.catalog is None:
            raise RuntimeError("open the worker before deciding on a batch")
        outcome = "loaded" if confirm else DISCARDED
        verb = "confirmed" if confirm else "discarded"
        reason = f"{verb} by {actor} at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        if not self.warehouse.set_outcome(batch_id, HELD, outcome, reason):
            raise BatchNotHeld(batch_id)
        record = self.warehouse.batch(batch_id)
        assert record is not None
        self.catalog.record_batch(record)
        return {"batch_id": batch_id, "outcome": outcome, "reason": reason,
                "published": self.publish(today) if publish else None}

    def load_crosswalk(self, path: Path) -> dict[str, Any]:
        """Load a grid crosswalk CSV as a new version (unchanged content adds nothing)."""
        if self.warehouse is None:
            raise RuntimeError("open the worker before loading a crosswalk")
        return load_crosswalk(self.warehouse.con, path)

    def publish(self, today: date | None = None, *,
                per_partition: int | None = None) -> dict[str, Any]:
        """Rebuild the ledger and publish every resident and household view (hub.views),
        `per_partition` residents at a time (default hub.views.partition's)."""
        from hub.views.run import publish_all

        return self._publish(publish_all, today, per_partition)

    def publish_changes(self, today: date | None = None, *,
                        per_partition: int | None = None) -> dict[str, Any]:
        """Publish only the residents and households that loaded batches changed since the
        last publish; everything when that cannot be told apart (hub.views.changes)."""
        from hub.views.run import publish_changes

        return self._publish(publish_changes, today, per_partition)

    def _publish(self, run: Any, today: date | None, per_partition: int | None
                 ) -> dict[str, Any]:
        if self.warehouse is None or self.catalog is None or self._keyring is None:
            raise RuntimeError("open the worker before publishing")
        con = self.warehouse.con
        # Publishing aggregates lists per resident, which DuckDB cannot spill; it works one
        # partition of residents at a time within its own memory budget.
        con.execute(f"SET memory_limit = '{self.settings.publish_memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
        try:
            # The API reveals from its read copy of the vault, never from the warehouse. Copied
            # before the views are published, so every resident they show can be revealed.
            from hub.vault.store import VaultStore

            started = time.perf_counter()
            with VaultStore(self.settings.vault_store_path) as store:
                copied = store.sync_from_warehouse(con)
            copied_in = time.perf_counter() - started
            linked = self.link_sealed()
            linked_in = time.perf_counter() - started - copied_in
            sized = {"per_partition": per_partition} if per_partition else {}
            result = run(con, self.catalog.engine, self._keyring, today or date.today(),
                         **sized)
        finally:
            con.execute(f"SET memory_limit = '{self.settings.warehouse_memory_limit}'")
            con.execute("SET preserve_insertion_order = true")
        # The steps before the views' own, so a slow publish shows where its time went.
        timings = {"vault_copy": round(copied_in, 3), "linkage": round(linked_in, 3),
                   **result.get("timings", {})}
        return {**result, "vault_store_rows": copied, "linkage": linked, "timings": timings}

    def link_sealed(self) -> dict[str, int]:
        """Carry out reviewers' decisions, then score the sealed rows not decided yet."""
        if self.warehouse is None or self.catalog is None or self._keyring is None:
            raise RuntimeError("open the worker before linking")
        from hub.linkage.blocking import block_key
        from hub.linkage.decisions import Thresholds
        from hub.pipeline.linkage import apply_reviews, link_pending

        con, engine = self.warehouse.con, self.catalog.engine
        applied = apply_reviews(con, engine)
        # Importing the linkage loads Splink, which only a linking worker needs.
        counts = link_pending(con, engine, VaultCipher(self._keyring.vault_key),
                              Thresholds.of(self.settings.linkage),
                              block_key(self._keyring.vault_key))
        return {**{str(k): v for k, v in counts.items()}, "reviews_applied": applied}
