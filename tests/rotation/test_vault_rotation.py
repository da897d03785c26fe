"""Vault key rotation drill: every entry re-sealed, the old key gone, the views unchanged."""

from __future__ import annotations

import pytest

from desensitize.errors import VaultDecryptFailed
from desensitize.vault import VaultCipher
from hub.keys.rotation_state import history
from hub.pipeline.worker import PipelineWorker
from hub.rotation import run
from hub.settings import HubSettings
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
