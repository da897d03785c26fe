"""Half-done rotations stop the worker; rotations that cannot be done change nothing."""

from __future__ import annotations

import duckdb
import pytest

from hub.keys.rotation_errors import (
    RotationConflict,
    RotationInProgress,
    RotationNotAbortable,
    RotationUnmappable,
)
from hub.pipeline.worker import PipelineWorker
from hub.rotation import run
from hub.serve import ServeRefused, check_home
from hub.settings import HubSettings
from tests.rotation.rotation_kit import query, read_key


class _Crash(Exception):
    """Stands in for a power cut at a chosen step."""


def _crash_at(step: str, done: int = 0) -> run.Progress:
    def progress(name: str, count: int, total: int | None) -> None:
        if name == step and count >= done:
            raise _Crash(name)

    return progress


def _write(settings: HubSettings, sql: str) -> None:
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute(sql)
    finally:
        con.close()


def test_worker_refuses_to_open_until_the_rotation_ends(home: HubSettings) -> None:
    old_key = read_key(home, "pseudonym.key")
    with pytest.raises(_Crash):
        run.rotate(home, "pseudonym", chunk_residents=500,
                   progress=_crash_at("re-keying residents", 1))
    with pytest.raises(RotationInProgress) as refused:
        PipelineWorker(home).open()
    assert "hub keys rotate pseudonym --resume" in str(refused.value)
    with pytest.raises(ServeRefused, match="--resume"):  # `hub serve` will not start either
        check_home(home)
    with pytest.raises(RotationConflict):
        run.rotate(home, "vault")

    # Not switched yet: backing out leaves the old key in use and the worker free.
    run.abort(home)
    assert read_key(home, "pseudonym.key") == old_key
    assert not (home.keys_dir / "pseudonym.key.next").exists()
    with PipelineWorker(home):
        pass

    # Switched: the data needs the new key; no backing out, the worker waits for the end.
    with pytest.raises(_Crash):
        run.rotate(home, "pseudonym", chunk_residents=500,
                   progress=_crash_at("republishing views"))
    assert read_key(home, "pseudonym.key") != old_key
    with pytest.raises(RotationInProgress):
        PipelineWorker(home).open()
    with pytest.raises(RotationNotAbortable):
        run.abort(home)
    summary = run.rotate(home, None, resume=True)
    assert summary.resumed
    assert summary.state == "done"
    with PipelineWorker(home):
        pass
    check_home(home)


def test_households_without_a_sealed_id_stop_the_rotation(home: HubSettings) -> None:
    """A home loaded before household IDs were sealed cannot re-key its households."""
    old_key = read_key(home, "pseudonym.key")
    before = query(home, "SELECT resident_key, household_key FROM curated.grid ORDER BY ALL")
    _write(home, "DELETE FROM vault.identity WHERE field = 'household_id'")
    with pytest.raises(RotationUnmappable) as stopped:
        run.rotate(home, "pseudonym")
    assert stopped.value.column == "household_key"
    assert stopped.value.count > 0
    assert "curated." in str(stopped.value)
    assert read_key(home, "pseudonym.key") == old_key
    assert not (home.keys_dir / "pseudonym.key.next").exists()
    assert query(home, "SELECT resident_key, household_key FROM curated.grid "
                       "ORDER BY ALL") == before
    with PipelineWorker(home):  # backed out: the hub keeps working with the old key
        pass


def test_a_resident_without_a_sealed_id_stops_the_rotation_before_the_switch(
        home: HubSettings) -> None:
    victim = query(home, "SELECT resident_key FROM curated.grid ORDER BY resident_key "
                         "LIMIT 1")[0][0]
    _write(home, f"DELETE FROM vault.identity WHERE field = 'resident_id' "
                 f"AND resident_key = '{victim}'")
    with pytest.raises(RotationUnmappable) as stopped:
        run.rotate(home, "pseudonym")
    assert stopped.value.count == 1
    assert stopped.value.column == "resident_key"
    assert victim not in str(stopped.value)  # counts and tables, never a key
    rows = query(home, "SELECT state FROM meta.key_rotations")
    assert rows == [("aborted",)]


def test_a_home_without_data_rotates_both_keys(settings: HubSettings) -> None:
    old = read_key(settings, "vault.key"), read_key(settings, "pseudonym.key")
    for kind in ("vault", "pseudonym"):
        assert run.rotate(settings, kind).state == "done"
    assert read_key(settings, "vault.key") != old[0]
    assert read_key(settings, "pseudonym.key") != old[1]
