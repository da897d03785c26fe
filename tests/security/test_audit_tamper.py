"""Verify names the first record that was edited, removed, inserted, reordered or renumbered,
in the one-process pass and in the parallel fast pass alike."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub.audit import verify as chain
from hub.audit.log import HASHED_FIELDS, AuditLog, VerifyResult, encode_record, record_hash
from tests.security.conftest import fill, set_field, tamper

N = 12
POSITIONS = [1, 2, 6, N - 1, N]  # first, second, middle, second to last, last
EDITABLE = [f for f in HASHED_FIELDS if f != "seq"]


@pytest.fixture(params=[1, 3], ids=["one-process", "three-processes"])
def workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Slices of 2 records, so that a 12-record log runs the parallel fast pass for real."""
    monkeypatch.setattr(chain, "SLICE", 2)
    return int(request.param)


@pytest.mark.parametrize("seq", POSITIONS)
@pytest.mark.parametrize("field", [*EDITABLE, "seq-inside-record", "hash"])
def test_edited_record_is_named(audit: AuditLog, state_path: Path, seq: int, field: str,
                                workers: int) -> None:
    fill(audit, N)
    if field == "hash":
        sql = f"UPDATE audit_events SET hash = 'x' || substr(hash, 2) WHERE seq = {seq}"
    elif field == "seq-inside-record":
        sql = set_field(seq, "seq", "old + 1")
    else:
        sql = set_field(seq, field, "'x' || coalesce(old, '')")
    tamper(state_path, sql)
    result = audit.verify(workers=workers)
    assert (result.ok, result.first_bad_seq) == (False, seq)
    assert str(seq) in (result.problem or "")
    assert result.checked == seq - 1


@pytest.mark.parametrize("seq", POSITIONS[:-1])  # the last one: see the checkpoint tests
def test_removed_record_is_named(audit: AuditLog, state_path: Path, seq: int,
                                 workers: int) -> None:
    fill(audit, N)
    tamper(state_path, f"DELETE FROM audit_events WHERE seq = {seq}")
    result = audit.verify(workers=workers)
    assert (result.ok, result.first_bad_seq) == (False, seq)
    assert "removed" in (result.problem or "")


@pytest.mark.parametrize("seq", [*POSITIONS, N + 1])
def test_inserted_record_is_named(audit: AuditLog, state_path: Path, seq: int,
                                  workers: int) -> None:
    """A forged look-up made from a copy of a real record, slotted in at `seq` (later records
    renumbered so that the seq column has no gap)."""
    fill(audit, N)
    copy_of = 1 if seq > 1 else 2
    tamper(state_path,
           f"UPDATE audit_events SET seq = -seq WHERE seq >= {seq}",
           "UPDATE audit_events SET seq = 1 - seq WHERE seq < 0",
           f"INSERT INTO audit_events (seq, body, hash) SELECT {seq}, json_set(body, '$[0]', "
           f"{seq}, '$[3]', 'forger:x', '$[8]', 'victim'), hash FROM audit_events "
           f"WHERE seq = {copy_of}")
    result = audit.verify(workers=workers)
    assert (result.ok, result.first_bad_seq) == (False, seq)


def test_swapped_records_are_named(audit: AuditLog, state_path: Path, workers: int) -> None:
    fill(audit, N)
    tamper(state_path, "UPDATE audit_events SET seq = -5 WHERE seq = 5",
           "UPDATE audit_events SET seq = 5 WHERE seq = 6",
           "UPDATE audit_events SET seq = 6 WHERE seq = -5")
    result = audit.verify(workers=workers)
    assert (result.ok, result.first_bad_seq) == (False, 5)


@pytest.mark.parametrize("seq", [1, 6, N])
def test_renumbered_record_is_named(audit: AuditLog, state_path: Path, seq: int,
                                    workers: int) -> None:
    fill(audit, N)
    tamper(state_path, f"UPDATE audit_events SET seq = 100 WHERE seq = {seq}")
    result = audit.verify(workers=workers)
    assert (result.ok, result.first_bad_seq) == (False, seq)


def test_record_numbered_below_one_is_named(audit: AuditLog, state_path: Path,
                                            workers: int) -> None:
    fill(audit, N)
    tamper(state_path, "INSERT INTO audit_events (seq, body, hash) SELECT 0, body, hash "
           "FROM audit_events WHERE seq = 1")
    result = audit.verify(workers=workers)
    assert (result.ok, result.first_bad_seq) == (False, 0)
    assert "inserted" in (result.problem or "")


def test_well_hashed_record_with_a_skipped_number_is_named(audit: AuditLog, state_path: Path,
                                                           workers: int) -> None:
    """A forger who knows the hash rule but numbers the record past the head."""
    fill(audit, N)
    seq, head = audit.head()
    values = [seq + 5, "2030-01-01T00:00:00.000000Z", None, "forger:x", "admin", "[]",
              "resident.get", "audit_check", "victim", "returned", None, head]
    con = sqlite3.connect(state_path)
    con.execute("INSERT INTO audit_events (seq, body, hash) VALUES (?, ?, ?)",
                (seq + 5, encode_record(values), record_hash(values)))
    con.commit()
    con.close()
    result = audit.verify(workers=workers)
    assert (result.ok, result.first_bad_seq) == (False, seq + 5)
    assert "inserted" in (result.problem or "")


@pytest.mark.parametrize("value", ["CAST(x'ff00fe' AS TEXT)", "x'5b315d'", "42", "'[1,2'"])
def test_record_that_is_not_even_text_is_named(audit: AuditLog, state_path: Path,
                                               value: str, workers: int) -> None:
    """Invalid UTF-8, a blob, a number, broken JSON: named, not a crash. (The generated
    columns read the record as JSON, so SQL refuses such a value; someone holding the file
    rebuilds the table without them.)"""
    fill(audit, N)
    tamper(state_path,
           "CREATE TABLE bare (seq INTEGER PRIMARY KEY, body TEXT NOT NULL, hash TEXT)",
           "INSERT INTO bare SELECT seq, body, hash FROM audit_events",
           "DROP TABLE audit_events", "ALTER TABLE bare RENAME TO audit_events",
           f"UPDATE audit_events SET body = {value} WHERE seq = 7")
    result = audit.verify(workers=workers)
    assert (result.ok, result.first_bad_seq) == (False, 7)


def test_intact_log_verifies_in_every_mode(audit: AuditLog, workers: int) -> None:
    fill(audit, N)
    assert audit.verify(workers=workers) == VerifyResult(True, N, None, None)
