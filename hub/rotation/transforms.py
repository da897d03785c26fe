"""What one chunk of a rotation pass computes. Raw values exist only inside these functions.

Every cipher call goes through VaultCipher.encrypt_column / decrypt_column (and the key
history's column helpers built on them): one call per field and chunk, so whatever makes those
two faster makes a rotation faster.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from desensitize.pseudonym import Pseudonymiser
from desensitize.vault import VaultCipher
from hub.keys.history import (
    HOUSEHOLD_DOMAIN,
    RESIDENT_DOMAIN,
    open_previous_column,
    seal_previous_column,
)
from hub.pipeline.sealing import SEALED_FIELDS, identity_keys
from hub.rotation.passes import ChunkWork
from schemas.registry import get_contract

VAULT_NEXT = "rotation.vault_next"
SEALED_NEXT = "rotation.sealed_next"
RESIDENT_MAP = "rotation.resident_map"
HOUSEHOLD_MAP = "rotation.household_map"
HISTORY_NEXT = "rotation.history_next"
IDENTITY_NEXT = "rotation.identity_next"
_VERIFY_EVERY = 97  # residents per sampled check of the retired pseudonym key


def _groups(frame: pd.DataFrame, column: str) -> dict[str, pd.Index]:
    return {str(k): v for k, v in frame.groupby(column, sort=True).groups.items()}


def _open_all(cipher: VaultCipher, rows: pd.DataFrame, keys: pd.Series) -> pd.Series:
    """The plaintext of every vault row, opened under [field, its resident key]."""
    plain = pd.Series(pd.NA, index=rows.index, dtype="string")
    for field, index in _groups(rows, "field").items():
        plain.loc[index] = cipher.decrypt_column(rows.loc[index, "ciphertext"], field,
                                                 keys.loc[index]).array
    return plain


def _seal_all(cipher: VaultCipher, rows: pd.DataFrame, plain: pd.Series,
              keys: pd.Series) -> pd.DataFrame:
    parts = []
    for field, index in _groups(rows, "field").items():
        sealed = cipher.encrypt_column(plain.loc[index], field, keys.loc[index])
        parts.append(pd.DataFrame({
            "resident_key": keys.loc[index].array,
            "field": pd.array([field] * len(index), dtype="string"),
            "ciphertext": sealed.to_numpy(dtype=object),
            "batch_id": rows.loc[index, "batch_id"].astype("string").array,
        }))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["resident_key", "field", "ciphertext", "batch_id"])


def vault_chunk(old: VaultCipher, new: VaultCipher) -> ChunkWork:
    """Open every entry with the old vault key and seal it with the new one (same AD)."""
    def transform(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
        keys = rows["resident_key"].astype("string")
        plain = _open_all(old, rows, keys)
        out = _seal_all(new, rows, plain, keys)
        del plain
        return {VAULT_NEXT: out}

    return transform


def sealed_chunk(old: VaultCipher, new: VaultCipher) -> ChunkWork:
    """The identifiers of rows kept for linkage: opened with the old vault key and sealed
    with the new one under the same [field, candidate key]."""
    def transform(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
        keys = rows["candidate_key"].astype("string")
        plain = _open_all(old, rows, keys)
        out = _seal_all(new, rows, plain, keys).rename(columns={"resident_key": "candidate_key"})
        del plain
        return {SEALED_NEXT: out}

    return transform


def sealed_fields(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, ...]]:
    """Each batch with rows kept for linkage: the identifier fields its contract has, in
    the order the sealer joined them."""
    rows = con.execute("SELECT DISTINCT s.batch_id, b.dataset FROM vault.sealed s "
                       "JOIN meta.batches b USING (batch_id)").fetchall()
    out = {}
    for batch_id, dataset in rows:
        columns = set(get_contract(str(dataset)).column_names)
        out[str(batch_id)] = tuple(f for f in SEALED_FIELDS if f in columns)
    return out


def identity_chunk(cipher: VaultCipher, fields_of: dict[str, tuple[str, ...]],
                   old: Pseudonymiser, new: Pseudonymiser) -> ChunkWork:
    """The keyed identity of rows kept for linkage (hub.pipeline.sealing), made again from
    their sealed identifiers under the old pseudonym key (to check it against the one kept)
    and the new; `fields_of`: each batch's identifier fields, in the sealer's order."""
    def transform(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
        keys = rows["candidate_key"].astype("string")
        plain = _open_all(cipher, rows, keys)
        values = pd.DataFrame({"candidate_key": keys.array, "field": rows["field"].array,
                               "value": plain.array})
        wide = values.pivot(index="candidate_key", columns="field", values="value")
        batch = rows.groupby("candidate_key", sort=False)["batch_id"].first()
        parts = []
        for batch_id, members in batch.groupby(batch).groups.items():
            fields = list(fields_of.get(str(batch_id), ()))
            identifiers = wide.reindex(index=members, columns=fields).astype("string")
            parts.append(pd.DataFrame({
                "candidate_key": pd.array(list(members), dtype="string"),
                "old_identity": identity_keys(old, identifiers).array,
                "new_identity": identity_keys(new, identifiers).array,
            }))
        del plain, values, wide
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["candidate_key", "old_identity", "new_identity"])
        return {IDENTITY_NEXT: out}

    return transform


def pseudonym_chunk(cipher: VaultCipher, old: Pseudonymiser, new: Pseudonymiser) -> ChunkWork:
    """Re-key the residents of a chunk: their sealed ID gives the new resident key (and the
    old one again, as a check that the key file is the one the data was made with), their
    sealed household ID the household keys; every entry is re-sealed under the new key."""
    def transform(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
        keys = rows["resident_key"].astype("string")
        plain = _open_all(cipher, rows, keys)
        ids = (rows["field"] == RESIDENT_DOMAIN).to_numpy()
        raw_ids, old_keys = plain[ids], keys[ids]
        residents = pd.DataFrame({
            "old_key": old_keys.array,
            "new_key": new.pseudonymise(raw_ids, RESIDENT_DOMAIN).array,
            "verified": _verified(old, raw_ids, old_keys),
        }).sort_values("verified", ascending=False).drop_duplicates("old_key")
        households = _household_map(rows, plain, old, new)
        mapping = pd.Series(residents["new_key"].array, index=residents["old_key"].array)
        new_keys = keys.map(mapping).astype("string")
        # Entries of a resident without a sealed ID cannot follow: the check before the
        # switch counts them (from the maps) and stops the rotation.
        keep = new_keys.notna().to_numpy()
        vault = _seal_all(cipher, rows[keep], plain[keep], new_keys[keep])
        del plain, raw_ids
        return {VAULT_NEXT: vault, RESIDENT_MAP: residents, HOUSEHOLD_MAP: households}

    return transform


def _verified(old: Pseudonymiser, raw_ids: pd.Series, old_keys: pd.Series) -> np.ndarray:
    """Does the old key make the old resident key from the sealed ID? Checked on a sample:
    the associated data already binds each sealed ID to its resident key, so what can differ
    is only the key file as a whole (a wrong one fails every row), which a sample shows as
    well as a full second HMAC pass would."""
    checked = np.zeros(len(raw_ids), dtype=bool)
    checked[::_VERIFY_EVERY] = True
    same = (old.pseudonymise(raw_ids[checked], RESIDENT_DOMAIN) == old_keys[checked]).to_numpy(
        dtype=bool, na_value=False)
    verified = np.ones(len(raw_ids), dtype=bool)
    verified[checked] = same
    return verified


def _household_map(rows: pd.DataFrame, plain: pd.Series, old: Pseudonymiser,
                   new: Pseudonymiser) -> pd.DataFrame:
    hids = plain[(rows["field"] == HOUSEHOLD_DOMAIN).to_numpy()].drop_duplicates()
    return pd.DataFrame({
        "old_key": old.pseudonymise(hids, HOUSEHOLD_DOMAIN).array,
        "new_key": new.pseudonymise(hids, HOUSEHOLD_DOMAIN).array,
    }).drop_duplicates()


def history_chunk(opener: VaultCipher, sealer: VaultCipher) -> ChunkWork:
    """Re-seal key-history rows under their new current key (and the new vault key); rows
    this rotation appends (no sealed value yet) seal the retired key itself."""
    def transform(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
        old_current = rows["old_current"].astype("string")
        new_current = rows["new_current"].astype("string")
        previous = old_current.copy()
        existing = rows["sealed_previous"].notna().to_numpy()
        for domain, index in _groups(rows[existing], "domain").items():
            previous.loc[index] = open_previous_column(
                opener, domain, old_current.loc[index], rows.loc[index, "sealed_previous"]).array
        parts = []
        for domain, index in _groups(rows, "domain").items():
            sealed = seal_previous_column(sealer, domain, new_current.loc[index],
                                          previous.loc[index])
            parts.append(pd.DataFrame({
                "domain": pd.array([domain] * len(index), dtype="string"),
                "current_key": new_current.loc[index].array,
                "sealed_previous": sealed.to_numpy(dtype=object),
                "epoch": rows.loc[index, "epoch"].to_numpy(dtype=np.int32),
            }))
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["domain", "current_key", "sealed_previous", "epoch"])
        return {HISTORY_NEXT: out}

    return transform
