"""The tamper matrix of the audit log: each attack of the outside probe, verified through
`hub audit verify` without a witness and with an auditor's witness folder.

The log holds 16 records; `hub serve`'s publisher signed checkpoints at records 4, 8, 12 and
14 into HUB_HOME/audit, and the auditor fetched copies of each into a folder of its own.
Records 15-16 are newer than any checkpoint. The attacker holds the state store file and the
signing key (keys/), and may delete or re-sign the hub's local checkpoints, never the
auditor's copies. Exit codes: 0 intact and witnessed, 1 tampering (first bad record named),
2 chain intact but unwitnessed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.audit.checkpoint import CHECKPOINT_GLOB
from hub.audit.log import AuditLog, encode_record, record_hash
from hub.audit.publisher import CheckpointPublisher
from hub.cli.security import audit_app
from hub.keys.config import load_security_keys
from hub.settings import HubSettings
from hub.state.migrate import open_state_store
from tests.security.conftest import fill, tamper

runner = CliRunner()
RECORDS = 16
CHECKPOINTS = (4, 8, 12, 14)


@dataclass
class Hub:
    settings: HubSettings
    log: AuditLog
    witness: Path

    @property
    def state(self) -> Path:
        return self.settings.state_dir / "state.sqlite"

    def publisher(self) -> CheckpointPublisher:
        key = load_security_keys(self.settings).signing_key()
        return CheckpointPublisher(self.log, key, self.settings.audit_dir, 1, 0)

    def drop_local_checkpoints(self, *seqs: int) -> None:
        for path in self.settings.audit_dir.glob(CHECKPOINT_GLOB):
            if json.loads(path.read_text())["seq"] in seqs:
                path.unlink()

    def rows(self) -> list[tuple[int, str]]:
        con = sqlite3.connect(self.state)
        try:
            return con.execute("SELECT seq, body FROM audit_events ORDER BY seq").fetchall()
        finally:
            con.close()

    def rewrite(self, changes: dict[int, list[object]], recompute_from: int | None) -> None:
        """Write `changes` (seq -> values) and, from `recompute_from` on, re-chain every record
        after it as someone who knows the hash rule would."""
        rows = {seq: json.loads(body) for seq, body in self.rows()}
        rows.update(changes)
        con = sqlite3.connect(self.state)
        con.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        con.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        con.execute("DELETE FROM audit_events")
        prev = None
        for seq in sorted(rows):
            values = rows[seq]
            values[0] = seq
            if recompute_from is not None and seq > recompute_from and prev is not None:
                values[-1] = prev
            stored = record_hash(values)
            prev = stored
            con.execute("INSERT INTO audit_events (seq, body, hash) VALUES (?, ?, ?)",
                        (seq, encode_record(values), stored))
        con.commit()
        con.close()

    def append_forged(self, at: datetime) -> None:
        seq, head = self.log.head()
        values: list[object] = [
            seq + 1, at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "req-forged", "tok9:forger",
            "street_office", '["110105001"]', "resident.search", "assistance_review",
            "victim", "returned", None, head]
        con = sqlite3.connect(self.state)
        con.execute("INSERT INTO audit_events (seq, body, hash) VALUES (?, ?, ?)",
                    (seq + 1, encode_record(values), record_hash(values)))
        con.commit()
        con.close()


@pytest.fixture
def hub(settings: HubSettings, tmp_path: Path) -> Hub:
    log = AuditLog(open_state_store(settings.resolved_state_url))
    made = Hub(settings, log, tmp_path / "witness")
    made.witness.mkdir()
    publisher = made.publisher()
    done = 0
    for seq in CHECKPOINTS:
        fill(log, seq - done)
        done = seq
        publisher.publish()
    fill(log, RECORDS - done)
    for path in settings.audit_dir.iterdir():  # what `hub audit fetch-checkpoints` copies
        shutil.copy(path, made.witness / path.name)
    return made


def _verify(hub: Hub, witness: bool) -> tuple[int, int | None]:
    args = ["verify", "--json"] + (["--checkpoint-dir", str(hub.witness)] if witness else [])
    result = runner.invoke(audit_app, args)
    report = json.loads(result.stdout)
    assert report["exit_code"] == result.exit_code
    return result.exit_code, report["first_bad_seq"]


def intact(hub: Hub) -> None:
    pass


def cut_after_newest_checkpoint(hub: Hub) -> None:
    """Records 15-16, newer than any checkpoint, deleted: nothing vouched for them."""
    tamper(hub.state, "DELETE FROM audit_events WHERE seq > 14")


def cut_under_checkpoints_and_files_deleted(hub: Hub) -> None:
    tamper(hub.state, "DELETE FROM audit_events WHERE seq > 10")
    hub.drop_local_checkpoints(12, 14)


def cut_and_resigned(hub: Hub) -> None:
    cut_under_checkpoints_and_files_deleted(hub)
    hub.publisher().publish()  # a new checkpoint of record 10, signed with keys/
    for path in hub.settings.audit_dir.glob(CHECKPOINT_GLOB):  # the auditor fetches it too
        shutil.copy(path, hub.witness / path.name)


def chain_recomputed(hub: Hub) -> None:
    """Record 6 edited, every later record re-chained, local checkpoints re-signed."""
    values = json.loads(dict(hub.rows())[6])
    values[8] = "someone-else"
    hub.rewrite({6: values}, recompute_from=6)
    hub.drop_local_checkpoints(*CHECKPOINTS)
    hub.publisher().publish()


def renumbered(hub: Hub) -> None:
    """Record 7 removed, 8-16 renumbered to close the gap, the chain recomputed."""
    rows = {seq: json.loads(body) for seq, body in hub.rows() if seq != 7}
    renum = {i + 1: rows[seq] for i, seq in enumerate(sorted(rows))}
    tamper(hub.state, "DELETE FROM audit_events")
    hub.rewrite(renum, recompute_from=6)
    hub.drop_local_checkpoints(*CHECKPOINTS)
    hub.publisher().publish()


def renumbered_not_rechained(hub: Hub) -> None:
    tamper(hub.state, "UPDATE audit_events SET seq = 100 WHERE seq = 7")


def edited_own_hash_recomputed(hub: Hub) -> None:
    values = json.loads(dict(hub.rows())[6])
    values[7] = "emergency"
    hub.rewrite({6: values}, recompute_from=None)


def edited_witnessed_head(hub: Hub) -> None:
    values = json.loads(dict(hub.rows())[14])
    values[8] = "someone-else"
    hub.rewrite({14: values}, recompute_from=None)


def forged_append_backdated(hub: Hub) -> None:
    hub.append_forged(datetime.now(UTC) - timedelta(hours=1))


def forged_append_now(hub: Hub) -> None:
    hub.append_forged(datetime.now(UTC))


Case = Callable[[Hub], None]
# case -> (exit code, record named) without a witness folder, and with the auditor's.
MATRIX: list[tuple[Case, tuple[int, int | None], tuple[int, int | None]]] = [
    (intact, (2, None), (0, None)),
    (cut_after_newest_checkpoint, (2, None), (0, None)),  # never witnessed: see docs/audit.md
    (cut_under_checkpoints_and_files_deleted, (2, None), (1, 11)),
    (cut_and_resigned, (2, None), (1, 11)),
    # the rewrite began at 6; 5 is the first record no matching checkpoint vouches for
    (chain_recomputed, (2, None), (1, 5)),
    (renumbered, (2, None), (1, 5)),
    (renumbered_not_rechained, (1, 7), (1, 7)),
    (edited_own_hash_recomputed, (1, 6), (1, 6)),
    (edited_witnessed_head, (1, 14), (1, 14)),
    (forged_append_backdated, (2, None), (1, 17)),
    (forged_append_now, (2, None), (0, None)),  # newer than every checkpoint
]


@pytest.mark.parametrize(("case", "alone", "witnessed"), MATRIX,
                         ids=[case.__name__ for case, _, _ in MATRIX])
def test_tamper_matrix(hub: Hub, case: Case, alone: tuple[int, int | None],
                       witnessed: tuple[int, int | None]) -> None:
    case(hub)
    assert _verify(hub, witness=False) == alone
    assert _verify(hub, witness=True) == witnessed


def test_verify_needs_no_signing_key(hub: Hub) -> None:
    """The witness check runs with the public key the auditor pinned; the signing key file
    may be absent from the machine that verifies."""
    (hub.settings.keys_dir / "audit_signing.key").rename(hub.settings.home / "away.key")
    for local in hub.settings.audit_dir.glob(CHECKPOINT_GLOB):
        local.unlink()
    result = runner.invoke(audit_app, ["verify", "--checkpoint-dir", str(hub.witness)])
    assert result.exit_code == 0, result.output


def test_unwitnessed_verify_says_so(hub: Hub) -> None:
    result = runner.invoke(audit_app, ["verify"])
    assert result.exit_code == 2
    assert "UNWITNESSED" in result.output


def test_forged_checkpoint_in_the_witness_is_refused(hub: Hub) -> None:
    path = sorted(hub.witness.glob(CHECKPOINT_GLOB))[-1]
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "seq": 10}))
    assert _verify(hub, witness=True)[0] == 1
