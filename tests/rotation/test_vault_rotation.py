"""Vault key rotation drill: every entry re-sealed, the old key gone, the views unchanged."""

from __future__ import annotations

import json

import duckdb
import pytest
from sqlalchemy import select

from catalog.db import create_state_engine
from desensitize.errors import VaultDecryptFailed
from desensitize.vault import VaultCipher
from hub.keys.rotation_state import history
from hub.pipeline.worker import PipelineWorker
from hub.rotation import run
from hub.settings import HubSettings
from hub.state.tables import linkage_reviews
from tests.rotation.conftest import TODAY
from tests.rotation.rotation_kit import documents, query, read_key


def _opens(cipher: VaultCipher, rows: list[tuple[str, str, bytes]]) -> int:
    """How many (resident_key, field, ciphertext) entries open under `cipher`."""
    opened = 0
    for key, field, ciphertext in rows:
        try:
            cipher.open(bytes(ciphertext), [field.encode(), key.encode()])
            opened += 1
        except VaultDecryptFailed:
            pass
    return opened


def test_vault_rotation_reseals_everything_and_keeps_views(home: HubSettings) -> None:
    residents, households = documents(home)
    old_key = read_key(home, "vault.key")
    before = query(home, "SELECT resident_key, field, batch_id, ciphertext FROM vault.identity "
                         "ORDER BY ALL")
    assert before

    summary = run.rotate(home, "vault", chunk_residents=300)

    assert summary.state == "done"
    assert summary.counters["warehouse bytes freed"] >= 0  # compacted, not skipped
    assert sorted(p.name for p in home.warehouse_dir.iterdir()) == [
        "warehouse.duckdb", "writer.lock"]
    assert summary.counters["vault.identity"] == len(before)
    new_key = read_key(home, "vault.key")
    assert new_key != old_key
    # The old key is gone: no file of the keys folder holds it, and no `.next` is left.
    assert sorted(p.name for p in home.keys_dir.iterdir()) == [
        "audit_signing.key", "pseudonym.key", "token_pepper.key", "vault.key"]
    assert all(old_key.hex() not in p.read_text() for p in home.keys_dir.iterdir())

    after = query(home, "SELECT resident_key, field, ciphertext FROM vault.identity")
    assert len(after) == len(before)
    assert _opens(VaultCipher(new_key), after) == len(after)
    assert _opens(VaultCipher(old_key), after) == 0
    # Same entries (resident, field, batch), each sealed anew.
    assert sorted((k, f, b) for k, f, b, _ in before) == sorted(
        (r[0], r[1], r[2]) for r in query(home, "SELECT resident_key, field, batch_id "
                                                "FROM vault.identity"))

    # Rotation does not republish (ciphertexts are in no view); a publish with the new key
    # decrypts and masks every name, ID and phone exactly as before.
    with PipelineWorker(home) as worker:
        worker.publish(today=TODAY)
    assert documents(home) == (residents, households)
    assert [r["state"] for r in _rotations(home)] == ["done"]


def _rotations(settings: HubSettings) -> list[dict[str, object]]:
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return history(con)
    finally:
        con.close()


def test_rotation_refuses_a_key_given_by_reference(home: HubSettings) -> None:
    from hub.keys.rotation_errors import RotationKeyReference

    target = home.keys_dir / "vault.key"
    referenced = home.model_copy(update={"vault_key_ref": f"file:{target}"})
    with pytest.raises(RotationKeyReference) as refused:
        run.rotate(referenced, "vault")
    assert "HUB_VAULT_KEY_REF" in str(refused.value)
    assert not (home.keys_dir / "vault.key.next").exists()


def _decisions(settings: HubSettings) -> list[tuple[object, ...]]:
    return query(settings, "SELECT batch_id, source_row, resident_key, decision, "
                           "round(probability, 6) FROM linkage.decisions ORDER BY ALL")


def _reviews(settings: HubSettings) -> list[tuple[object, ...]]:
    engine = create_state_engine(settings.resolved_state_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(
                linkage_reviews.c.batch_id, linkage_reviews.c.source_row,
                linkage_reviews.c.resident_key, linkage_reviews.c.comparison)).all()
    finally:
        engine.dispose()
    return sorted((b, r, k, json.dumps(c, sort_keys=True)) for b, r, k, c in rows)


def _forget_decisions(settings: HubSettings) -> None:
    """Every sealed row back to undecided, as the rows of a batch loaded but not linked yet."""
    con = duckdb.connect(str(settings.warehouse_path))
    try:
        con.execute("DELETE FROM linkage.decisions")
    finally:
        con.close()
    engine = create_state_engine(settings.resolved_state_url)
    try:
        with engine.begin() as conn:
            conn.execute(linkage_reviews.delete())
    finally:
        engine.dispose()


def test_rows_sealed_before_a_vault_rotation_are_linked_and_reviewed_after_it(
        home: HubSettings) -> None:
    decided, reviews = _decisions(home), _reviews(home)
    assert {d[3] for d in decided} >= {"linked", "review"}
    assert reviews
    old_key = read_key(home, "vault.key")
    sealed = query(home, "SELECT candidate_key, field, ciphertext FROM vault.sealed")
    assert sealed
    _forget_decisions(home)

    summary = run.rotate(home, "vault", chunk_residents=40)

    assert summary.counters["vault.sealed"] == len(sealed)
    after = query(home, "SELECT candidate_key, field, ciphertext FROM vault.sealed")
    assert sorted((k, f) for k, f, _ in after) == sorted((k, f) for k, f, _ in sealed)
    assert _opens(VaultCipher(read_key(home, "vault.key")), after) == len(after)
    assert _opens(VaultCipher(old_key), after) == 0
    # The undecided rows are opened under the new key: the same residents, probabilities
    # and review items (masked values and levels) as before the rotation.
    with PipelineWorker(home) as worker:
        counts = worker.publish(today=TODAY)["linkage"]
    assert counts["candidates"] == len(decided)
    assert _decisions(home) == decided
    assert _reviews(home) == reviews
