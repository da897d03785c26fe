"""Signed checkpoints: truncation and rewrites after a checkpoint are caught, forgeries too."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit.checkpoint import latest_checkpoint, verify_checkpoint, write_checkpoint
from hub.audit.errors import CheckpointInvalid
from hub.audit.log import AuditLog, encode_record, record_hash
from tests.security.conftest import fill, tamper


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_checkpoint_of_an_intact_log_verifies(audit: AuditLog, key: Ed25519PrivateKey,
                                              tmp_path: Path) -> None:
    fill(audit, 5)
    doc = write_checkpoint(audit, key, tmp_path / "cp.json")
    assert (doc["seq"], doc["hash"]) == audit.head()
    fill(audit, 3)  # later appends do not invalidate it
    result = verify_checkpoint(audit, key.public_key(), tmp_path / "cp.json")
    assert (result.ok, result.checked) == (True, 5)


@pytest.mark.parametrize("removed", [1, 3])
def test_truncated_tail_is_caught(audit: AuditLog, key: Ed25519PrivateKey, tmp_path: Path,
                                  state_path: Path, removed: int) -> None:
    fill(audit, 8)
    write_checkpoint(audit, key, tmp_path / "cp.json")
    tamper(state_path, f"DELETE FROM audit_events WHERE seq > {8 - removed}")
    assert audit.verify().ok  # the shorter chain is internally consistent...
    result = verify_checkpoint(audit, key.public_key(), tmp_path / "cp.json")
    assert not result.ok  # ...but the checkpoint shows what is missing
    assert result.first_bad_seq == 8 - removed + 1
    assert "truncated" in (result.problem or "")


def test_rewritten_chain_is_caught(audit: AuditLog, key: Ed25519PrivateKey, tmp_path: Path,
                                   state_path: Path) -> None:
    """Someone who knows the hash rule rewrites record 3 and re-chains everything after it."""
    fill(audit, 6)
    write_checkpoint(audit, key, tmp_path / "cp.json")
    con = sqlite3.connect(state_path)
    con.execute("DROP TRIGGER audit_events_no_update")
    rows = con.execute("SELECT seq, body FROM audit_events ORDER BY seq").fetchall()
    prev = audit.hash_of(2)
    for seq, body in rows[2:]:
        values = json.loads(body)
        if seq == 3:
            values[8] = "someone-else"
        values[-1] = prev
        prev = record_hash(values)
        con.execute("UPDATE audit_events SET body = ?, hash = ? WHERE seq = ?",
                    (encode_record(values), prev, seq))
    con.commit()
    con.close()
    assert audit.verify().ok
    result = verify_checkpoint(audit, key.public_key(), tmp_path / "cp.json")
    assert (result.ok, result.first_bad_seq) == (False, 6)


def test_forged_or_edited_checkpoint_is_refused(audit: AuditLog, key: Ed25519PrivateKey,
                                                tmp_path: Path, state_path: Path) -> None:
    fill(audit, 4)
    path = tmp_path / "cp.json"
    write_checkpoint(audit, key, path)
    tamper(state_path, "DELETE FROM audit_events WHERE seq = 4")
    doc = json.loads(path.read_text())
    seq, head = audit.head()
    path.write_text(json.dumps({**doc, "seq": seq, "hash": head}))  # hide the truncation
    result = verify_checkpoint(audit, key.public_key(), path)
    assert not result.ok
    assert "signature" in (result.problem or "")
    other = Ed25519PrivateKey.generate()
    write_checkpoint(audit, other, path)  # signed with a key that is not the hub's
    assert not verify_checkpoint(audit, key.public_key(), path).ok


def test_unreadable_checkpoint_is_an_error(audit: AuditLog, key: Ed25519PrivateKey,
                                           tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text("{not json")
    with pytest.raises(CheckpointInvalid):
        verify_checkpoint(audit, key.public_key(), path)


def test_latest_checkpoint_is_the_highest_seq(audit: AuditLog, key: Ed25519PrivateKey,
                                              tmp_path: Path) -> None:
    assert latest_checkpoint(tmp_path) is None
    fill(audit, 2)
    write_checkpoint(audit, key, tmp_path / "checkpoint-b.json")
    fill(audit, 2)
    write_checkpoint(audit, key, tmp_path / "checkpoint-a.json")
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-a.json"
