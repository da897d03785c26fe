"""The masked identity part of a resident's profile, opened from the vault only to be masked.

The worker opens each resident's ID number, name and phone from the vault (AES-SIV, one
library call per value: the one unavoidable per-value loop, inside VaultCipher), masks them
at once with desensitize.masking and keeps the birth date the ID encodes for exact ages in
rule evaluation. Only the masked text and the birth date leave this module; the raw values
live in local variables of `masked_identity` and are never written anywhere. The birth date
is used inside the worker's DuckDB session only (a TEMP table): published views carry the
birth year and age band, never the date.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from desensitize.masking import mask_id, mask_name, mask_phone
from desensitize.vault import VaultCipher
from schemas.identity import birth_date_from_id

FIELDS = {"resident_id": mask_id, "name": mask_name, "phone": mask_phone}

# One ciphertext per (resident, field): a current grid batch first (the registry is the
# reference for names and phones), then the most recent batch.
_VAULT_SQL = """
    SELECT v.resident_key, v.field, v.ciphertext
    FROM ({vault}) v
    JOIN meta.batches b ON b.batch_id = v.batch_id
    JOIN universe u ON u.resident_key = v.resident_key
    LEFT JOIN current_batches c ON c.batch_id = v.batch_id
    WHERE v.field IN ('resident_id', 'name', 'phone')
    QUALIFY row_number() OVER (
        PARTITION BY v.resident_key, v.field
        ORDER BY (c.batch_id IS NOT NULL) DESC, (b.dataset = 'grid') DESC,
                 b.finished_at DESC, v.ciphertext) = 1
"""


def vault_entries(con: duckdb.DuckDBPyConnection, vault_sql: str) -> pa.Table:
    """The ciphertexts `masked_identity` opens, of the residents of the `universe` relation,
    from the vault entries `vault_sql` selects (a partition's, staged: hub.views.partition);
    needs TEMP tables universe, current_batches. Arrow: no Python object per value here."""
    return con.sql(_VAULT_SQL.format(vault=vault_sql)).to_arrow_table()


def masked_identity(entries: pa.Table, cipher: VaultCipher) -> pa.Table:
    """(resident_key, masked_id, masked_name, masked_phone, birth_date) per resident of
    `entries` (from `vault_entries`). Python and the cipher only: it may run on another
    thread while the DuckDB session goes on."""
    vault = entries.to_pandas()
    columns: dict[str, pd.Series] = {}
    keys = pd.Index(vault["resident_key"].astype("string").unique(), name="resident_key")
    birth = pd.Series(pd.NaT, index=keys, dtype="datetime64[s]")
    for field, mask in FIELDS.items():
        part = vault[vault["field"] == field]
        part_keys = part["resident_key"].astype("string")
        opened = cipher.decrypt_column(part["ciphertext"], field, part_keys)
        masked = mask(opened)
        masked.index = pd.Index(part_keys.array)
        columns[field] = masked.reindex(keys)
        if field == "resident_id":
            born = birth_date_from_id(opened)
            born.index = pd.Index(part_keys.array)
            birth = born.reindex(keys)
        del opened  # raw values end here
    frame = pd.DataFrame({
        "resident_key": keys.astype("string"),
        "masked_id": columns["resident_id"].array,
        "masked_name": columns["name"].array,
        "masked_phone": columns["phone"].array,
        "birth_date": birth.to_numpy(),  # timestamp; a DATE in SQL
    })
    return pa.Table.from_pandas(frame, preserve_index=False)
