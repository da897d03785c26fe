"""`hub keys rotate vault|pseudonym`: one rotation, resumable from any state.

The rotation opens a pipeline worker in rotation mode: that holds the writer lock for the
whole run and gives the warehouse connection, the catalog and `publish`. Every step below
is idempotent and recorded in meta.key_rotations (hub.keys.rotation_state), so running the command
again after a crash, a kill or a power cut continues where the record says:

    preparing  new key file written (keys/<name>.next, 0600); vault copied chunk by chunk
               (vault: also the identifiers of rows kept for linkage, vault.sealed;
               pseudonym: old -> new maps, and the keyed identities of rows kept for
               linkage; checked before anything is switched)
    history    key history re-sealed chunk by chunk
    ready      the switch transaction: curated keys, vault, key history, state
    switched   keys/<name>.next renamed over keys/<name>: the old key is gone
    keyed      pseudonym: views and ledger republished (same `today` as the live views)
    published  quality findings re-keyed, the vault store rebuilt, work tables dropped
    cleaned    the warehouse copied into a fresh file (no blocks of the old tables) and swapped
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from desensitize.pseudonym import Pseudonymiser
from desensitize.vault import VaultCipher
from hub.keys import rotation_state
from hub.keys.config import load_keyring
from hub.keys.rotation_errors import (
    ABORTABLE_STATES,
    RotationConflict,
    RotationKeyMismatch,
    RotationNotAbortable,
    RotationNothingToDo,
    RotationUnmappable,
)
from hub.keys.rotation_state import RotationRecord
from hub.pipeline.worker import PipelineWorker
from hub.rotation import keyfiles, passes, switch
from hub.rotation.followups import (
    compact_warehouse,
    published_today,
    rebuild_vault_store,
    rekey_findings,
    rekey_reviews,
)
from hub.rotation.transforms import (
    history_chunk,
    identity_chunk,
    pseudonym_chunk,
    sealed_chunk,
    sealed_fields,
    vault_chunk,
)
from hub.settings import HubSettings

DEFAULT_CHUNK_RESIDENTS = 50_000
Progress = Callable[[str, int, int | None], None]


def _quiet(step: str, done: int, total: int | None) -> None:
    return None


@dataclass
class RotationSummary:
    kind: str
    epoch: int
    state: str
    resumed: bool
    key_file: str
    fingerprint: str  # of the new key, as `hub keys check` shows it
    counters: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "epoch": self.epoch, "state": self.state,
                "resumed": self.resumed, "key_file": self.key_file,
                "fingerprint": self.fingerprint, "counters": self.counters,
                "seconds": self.seconds}


class _Rotation:
    def __init__(self, settings: HubSettings, worker: PipelineWorker, record: RotationRecord,
                 chunk_residents: int, progress: Progress) -> None:
        if worker.warehouse is None or worker.catalog is None:
            raise RuntimeError("open the worker before rotating")
        self.settings, self.worker, self.record = settings, worker, record
        self.con = worker.warehouse.con
        self.engine = worker.catalog.engine
        self.kind = record.kind
        self.chunk_residents = chunk_residents
        self.progress = progress

    # --- keys ---

    def _current_fingerprint(self) -> str:
        path = keyfiles.key_path(self.settings, self.kind)
        return keyfiles.digest(keyfiles.read_key(path, self.kind))

    def _old_and_new(self) -> tuple[bytes, bytes]:
        """Both keys of a rotation not switched yet, checked against the record."""
        path = keyfiles.key_path(self.settings, self.kind)
        old = keyfiles.read_key(path, self.kind)
        if keyfiles.digest(old) != self.record.old_fingerprint:
            raise RotationKeyMismatch(self.kind, str(path), "is not the key being retired")
        nxt = keyfiles.next_path(self.settings, self.kind)
        new = keyfiles.read_key(nxt, self.kind)
        if keyfiles.digest(new) != self.record.new_fingerprint:
            raise RotationKeyMismatch(self.kind, str(nxt), "is not the new key of this rotation"
                                      " (back out with `hub keys rotate --abort`)")
        return old, new

    # --- steps ---

    def run(self) -> None:
        steps = [("preparing", self._prepare), ("history", self._history),
                 ("ready", self._switch), ("switched", self._install_key),
                 ("keyed", self._publish), ("published", self._finish),
                 ("cleaned", self._compact)]
        for name, step in steps:
            if self.record.state == name:
                step()

    def _prepare(self) -> None:
        old, new = self._old_and_new()
        con, record = self.con, self.record
        if self.kind == "pseudonym" and rotation_state.pass_progress(con, record, "vault") is None:
            self._or_back_out(lambda: switch.precheck_pseudonym(con))
        passes.setup_vault_pass(con, record, self.chunk_residents)
        if self.kind == "vault":
            seconds = passes.run_pass(con, record, "vault", "rotation.vault_work",
                                      vault_chunk(VaultCipher(old), VaultCipher(new)),
                                      self.progress, "re-sealing the vault")
            # Rows kept for linkage and not decided yet are opened after the switch too.
            passes.setup_sealed_pass(con, record, self.chunk_residents)
            seconds += passes.run_pass(con, record, "sealed", "rotation.sealed_work",
                                       sealed_chunk(VaultCipher(old), VaultCipher(new)),
                                       self.progress, "re-sealing rows kept for linkage")
        else:
            cipher = VaultCipher(load_keyring(self.settings).vault_key)
            with Pseudonymiser(old) as p_old, Pseudonymiser(new) as p_new:
                seconds = passes.run_pass(con, record, "vault", "rotation.vault_work",
                                          pseudonym_chunk(cipher, p_old, p_new),
                                          self.progress, "re-keying residents")
            # Rows kept for linkage carry a keyed identity of their identifiers (a row sent
            # again keeps its decision): made again under the new key from the sealed values.
            passes.setup_sealed_pass(con, record, self.chunk_residents)
            with Pseudonymiser(old) as p_old, Pseudonymiser(new) as p_new:
                seconds += passes.run_pass(
                    con, record, "sealed", "rotation.sealed_work",
                    identity_chunk(cipher, sealed_fields(con), p_old, p_new),
                    self.progress, "re-keying rows kept for linkage")
            key_file = str(keyfiles.key_path(self.settings, self.kind))
            self._or_back_out(lambda: switch.validate_pseudonym(con, key_file))
        row = con.execute("SELECT count(DISTINCT resident_key) FROM rotation.vault_work"
                          ).fetchall()[0]
        record.counters["residents"] = int(row[0])
        record.seconds["vault pass"] = round(seconds, 3)
        rotation_state.set_state(con, record, "history")

    def _or_back_out(self, check: Callable[[], None]) -> None:
        try:
            check()
        except (RotationUnmappable, RotationKeyMismatch):
            back_out(self.settings, self.con, self.record)
            raise

    def _history(self) -> None:
        old, new = self._old_and_new()
        if self.kind == "vault":
            opener, sealer = VaultCipher(old), VaultCipher(new)
        else:
            opener = sealer = VaultCipher(load_keyring(self.settings).vault_key)
        passes.setup_history_pass(self.con, self.record, 2 * self.chunk_residents)
        seconds = passes.run_pass(self.con, self.record, "history", "rotation.history_work",
                                  history_chunk(opener, sealer), self.progress,
                                  "re-sealing the key history")
        self.record.seconds["history pass"] = round(seconds, 3)
        rotation_state.set_state(self.con, self.record, "ready")

    def _switch(self) -> None:
        self._old_and_new()  # both key files must still be there: the switch needs the new one
        self.progress("switching", 0, 1)
        switch.switch(self.con, self.record)
        self.progress("switching", 1, 1)

    def _install_key(self) -> None:
        started = time.perf_counter()
        current = self._current_fingerprint()
        if current == self.record.old_fingerprint:
            self._old_and_new()
            keyfiles.install_next(self.settings, self.kind)
        elif current != self.record.new_fingerprint:
            raise RotationKeyMismatch(self.kind, str(keyfiles.key_path(self.settings, self.kind)),
                                      "is neither the retired key nor the new one")
        rotation_state.set_state(self.con, self.record, "keyed",
                        {"key file": time.perf_counter() - started})

    def _publish(self) -> None:
        started = time.perf_counter()
        if self._current_fingerprint() != self.record.new_fingerprint:
            raise RotationKeyMismatch(self.kind, str(keyfiles.key_path(self.settings, self.kind)),
                                      "is not the new key the warehouse now needs")
        self.worker.reload_keys()
        today: date | None = published_today(self.engine)
        if self.kind == "pseudonym" and today is not None:
            self.progress("republishing views", 0, None)
            result = self.worker.publish(today=today)
            self.record.counters["views.residents"] = int(result.get("residents", 0))
            self.record.counters["views.households"] = int(result.get("households", 0))
            self.record.counters["ledger facts"] = int(result.get("ledger_facts", 0))
        step = "publish" if self.kind == "pseudonym" else "reload keys"
        rotation_state.set_state(self.con, self.record, "published",
                        {step: time.perf_counter() - started})

    def _finish(self) -> None:
        started = time.perf_counter()
        if self.kind == "pseudonym":
            self.record.counters["quality findings"] = rekey_findings(self.engine, self.con)
            self.record.counters["linkage reviews"] = rekey_reviews(self.engine, self.con)
        self.progress("rebuilding the vault store", 0, None)
        self.record.counters["vault store"] = rebuild_vault_store(self.settings, self.con)
        self.con.execute("BEGIN TRANSACTION")
        try:
            passes.drop_work(self.con)
            rotation_state.set_state(self.con, self.record, "cleaned",
                            {"finish": time.perf_counter() - started})
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _compact(self) -> None:
        started = time.perf_counter()
        self.progress("compacting the warehouse", 0, None)
        saved = compact_warehouse(self.settings, self.worker)
        if self.worker.warehouse is None:
            raise RuntimeError("the warehouse did not reopen after compaction")
        self.con = self.worker.warehouse.con
        self.record.counters["warehouse bytes freed"] = saved
        rotation_state.set_state(self.con, self.record, "done",
                        {"compact": time.perf_counter() - started})


def back_out(settings: HubSettings, con: duckdb.DuckDBPyConnection,
             record: RotationRecord) -> None:
    """Drop the work of a rotation not switched yet; the old key stays the key."""
    if record.state not in ABORTABLE_STATES:
        raise RotationNotAbortable(record.kind, record.state)
    con.execute("BEGIN TRANSACTION")
    try:
        passes.drop_work(con)
        rotation_state.set_state(con, record, "aborted")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    keyfiles.discard_next(settings, record.kind)


def _begin(settings: HubSettings, con: duckdb.DuckDBPyConnection,
           kind: str) -> RotationRecord:
    old = keyfiles.read_key(keyfiles.key_path(settings, kind), kind)
    new = keyfiles.create_next_key(settings, kind)
    return rotation_state.begin(con, kind, keyfiles.digest(old), keyfiles.digest(new))


def rotate(settings: HubSettings, kind: str | None, *, resume: bool = False,
           chunk_residents: int = DEFAULT_CHUNK_RESIDENTS,
           progress: Progress | None = None) -> RotationSummary:
    """Start a rotation of `kind`, or finish the one half done (same kind, or any kind when
    `kind` is None and `resume` is set)."""
    if kind is not None and kind not in rotation_state.KINDS:
        raise ValueError(f"unknown key kind {kind!r}: vault or pseudonym")
    with PipelineWorker(settings, rotating=True) as worker:
        if worker.warehouse is None:
            raise RuntimeError("the worker did not open the warehouse")
        con = worker.warehouse.con
        rotation_state.ensure_tables(con)
        pending = rotation_state.pending_rotation(con)
        if pending is None:
            if resume or kind is None:
                raise RotationNothingToDo("resume")
            keyfiles.refuse_reference(settings, kind)
            record, resumed = _begin(settings, con, kind), False
        else:
            if kind is not None and kind != pending.kind:
                raise RotationConflict(kind, pending.kind)
            keyfiles.refuse_reference(settings, pending.kind)
            record, resumed = pending, True
        _Rotation(settings, worker, record, chunk_residents, progress or _quiet).run()
        path = keyfiles.key_path(settings, record.kind)
        return RotationSummary(record.kind, record.epoch, record.state, resumed, str(path),
                               keyfiles.key_fingerprint(keyfiles.read_key(path, record.kind)),
                               dict(record.counters), dict(record.seconds))


def abort(settings: HubSettings) -> RotationRecord:
    """Back out of a rotation that has not switched yet (`hub keys rotate --abort`)."""
    with PipelineWorker(settings, rotating=True) as worker:
        if worker.warehouse is None:
            raise RuntimeError("the worker did not open the warehouse")
        pending = rotation_state.pending_rotation(worker.warehouse.con)
        if pending is None:
            raise RotationNothingToDo("abort")
        back_out(settings, worker.warehouse.con, pending)
        return pending
