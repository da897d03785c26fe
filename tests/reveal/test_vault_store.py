"""The vault store: the API's read copy of the warehouse vault and key history."""

from __future__ import annotations

import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from desensitize.vault import VaultCipher
from hub.keys.history import KEY_HISTORY_DDL, RESIDENT_DOMAIN, open_previous, seal_previous
from hub.vault.store import VaultStore, VaultStoreMissing

FIELDS = ("resident_id", "name", "phone")


@pytest.fixture
def cipher() -> VaultCipher:
    return VaultCipher(secrets.token_bytes(64))


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tmp_path / "w.duckdb"),
                         config={"autoinstall_known_extensions": False})
    con.execute("CREATE SCHEMA vault")
    con.execute("CREATE TABLE vault.identity (resident_key VARCHAR NOT NULL, field VARCHAR "
                "NOT NULL, ciphertext BLOB NOT NULL, batch_id VARCHAR NOT NULL)")
    yield con
    con.close()


def load(con: duckdb.DuckDBPyConnection, cipher: VaultCipher, batch: str,
         residents: dict[str, dict[str, str]]) -> None:
    rows = [(key, field, cipher.seal(value.encode(), [field.encode(), key.encode()]), batch)
            for key, values in residents.items() for field, value in values.items()]
    con.executemany("INSERT INTO vault.identity VALUES (?, ?, ?, ?)", rows)


def person(n: int) -> dict[str, str]:
    return {"resident_id": f"id-{n}", "name": f"name-{n}", "phone": f"phone-{n}"}


def opened(store: VaultStore, cipher: VaultCipher, key: str) -> set[tuple[str, str, str]]:
    return {(f, cipher.open(c, [f.encode(), key.encode()]).decode(), b)
            for f, c, b in store.entries(key)}


def test_sync_copies_new_batches_only(tmp_path: Path, warehouse: duckdb.DuckDBPyConnection,
                                      cipher: VaultCipher) -> None:
    load(warehouse, cipher, "b1", {f"{n:032x}": person(n) for n in range(50)})
    store = VaultStore(tmp_path / "vault" / "vault.sqlite")
    assert store.sync_from_warehouse(warehouse) == 150
    assert store.sync_from_warehouse(warehouse) == 0
    # A later batch brings a new phone for resident 1 and a new resident.
    load(warehouse, cipher, "b2", {f"{1:032x}": {"phone": "phone-new"},
                                   f"{99:032x}": person(99)})
    assert store.sync_from_warehouse(warehouse) == 4
    assert store.copied_batches() == {"b1", "b2"}
    assert opened(store, cipher, f"{1:032x}") == {
        ("resident_id", "id-1", "b1"), ("name", "name-1", "b1"), ("phone", "phone-1", "b1"),
        ("phone", "phone-new", "b2")}
    assert opened(store, cipher, f"{99:032x}") == {(f, v, "b2") for f, v in person(99).items()}
    assert store.entries("f" * 32) == []
    store.close()


def test_store_is_private_and_readers_cannot_write(tmp_path: Path,
                                                   warehouse: duckdb.DuckDBPyConnection,
                                                   cipher: VaultCipher) -> None:
    path = tmp_path / "vault" / "vault.sqlite"
    with pytest.raises(VaultStoreMissing):
        VaultStore(path, read_only=True)
    load(warehouse, cipher, "b1", {f"{1:032x}": person(1)})
    with VaultStore(path) as store:
        store.sync_from_warehouse(warehouse)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for file in path.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    with VaultStore(path, read_only=True) as reader:
        assert len(reader.entries(f"{1:032x}")) == 3
        with pytest.raises(Exception, match="readonly"):
            reader.sync_from_warehouse(warehouse)


def test_rebuild_replaces_everything_after_a_rotation(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection, cipher: VaultCipher) -> None:
    old, new = f"{7:032x}", f"{8:032x}"
    load(warehouse, cipher, "b1", {old: person(7)})
    store = VaultStore(tmp_path / "vault.sqlite")
    store.sync_from_warehouse(warehouse)
    # The rotation rewrites the keys in place (same batch ids) and writes the key history.
    warehouse.execute("DELETE FROM vault.identity")
    load(warehouse, cipher, "b1", {new: person(7)})
    warehouse.execute(KEY_HISTORY_DDL)
    warehouse.execute("INSERT INTO vault.key_history VALUES (?, ?, ?, 1)",
                      [RESIDENT_DOMAIN, new, seal_previous(cipher, RESIDENT_DOMAIN, new, old)])
    assert store.sync_from_warehouse(warehouse) == 0  # nothing new by batch: stale keys
    assert store.entries(new) == []
    assert store.rebuild_from_warehouse(warehouse) == 3
    assert store.entries(old) == []
    assert opened(store, cipher, new) == {(f, v, "b1") for f, v in person(7).items()}
    (sealed,) = store.history(RESIDENT_DOMAIN, new)
    assert open_previous(cipher, RESIDENT_DOMAIN, new, sealed) == old
    # The history is replaced on every sync, so a later rotation's rewrite shows through.
    warehouse.execute("DELETE FROM vault.key_history")
    store.sync_from_warehouse(warehouse)
    assert store.history(RESIDENT_DOMAIN, new) == []
    store.close()


def test_key_history_is_created_in_a_warehouse_without_it(
        tmp_path: Path, warehouse: duckdb.DuckDBPyConnection) -> None:
    with VaultStore(tmp_path / "vault.sqlite") as store:
        assert store.sync_from_warehouse(warehouse) == 0
        assert store.history(RESIDENT_DOMAIN, "0" * 32) == []
    tables = warehouse.execute("SELECT table_name FROM information_schema.tables "
                               "WHERE table_schema = 'vault'").fetchall()
    assert ("key_history",) in tables
