"""The registry's residents opened from the vault, for comparison: per current resident,
the latest registry row (sex, grid cell, household) and, per field opened, the vault entry
compared (the registry's own, else the latest batch's). Everything here selects by resident
and, for a city, by hash partition of residents, so that no statement holds the registry.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from desensitize.vault import VaultCipher
from hub.ledger.current import current_rows_sql
from schemas.identity import birth_date_from_id

REGISTRY = "grid"
OPENED_FIELDS = ("resident_id", "name", "phone", "address")
# The vault entry compared, per resident and field: the registry's own, else the latest
# batch's; a tie (one batch sealing two values) goes to the larger hash of the ciphertext,
# so the choice never depends on the order rows are read in. One fixed-size number, so
# that the aggregates choosing by it keep no text per group.
_ENTRY_ORDER = ("(CAST(b.dataset = 'grid' AS HUGEINT) << 120) "
                "+ (CAST(epoch_us(b.finished_at) AS HUGEINT) << 64) + hash(v.ciphertext)")


def in_part(key: str, part: tuple[int, int]) -> str:
    """The condition that `key` is in hash partition `part` = (number, partitions)."""
    number, partitions = part
    return f"hash({key}) % {partitions} = {number}" if partitions > 1 else "TRUE"


def residents_sql(keys: str | None = None, part: tuple[int, int] = (0, 1)) -> str:
    """One row per current registry resident (of relation `keys` when given, of hash
    partition `part` = (number, partitions)): the latest registry row's sex, grid cell and
    household (the latest batch, one without an as-of date the oldest, its id breaking
    ties)."""
    # arg_max, not first(... ORDER BY ...): an ordered aggregate holds every group's rows.
    # A NULL inside the ordering struct would compare above every date, hence coalesce.
    return f"""
        SELECT resident_key, r.gender, r.grid_code, r.household_key FROM (
            SELECT resident_key,
                   arg_max(struct_pack(gender := gender, grid_code := grid_code,
                                       household_key := household_key),
                           (coalesce(batch_as_of, DATE '0001-01-01'), batch_id)) AS r
            FROM ({current_rows_sql(REGISTRY, keys)})
            WHERE {in_part("resident_key", part)} GROUP BY resident_key)"""


def entries_sql(residents: str, value: str = "v.ciphertext",
                part: tuple[int, int] = (0, 1)) -> str:
    """Per resident of relation `residents` (of hash partition `part`), one column per
    field opened: `value` of the vault entry compared (_ENTRY_ORDER), NULL for none."""
    fields = ", ".join(f"'{f}'" for f in OPENED_FIELDS)
    chosen = ", ".join(f"arg_max({value}, {_ENTRY_ORDER}) FILTER (WHERE v.field = '{f}') "
                       f"AS \"{f}\"" for f in OPENED_FIELDS)
    return f"""
        SELECT v.resident_key, {chosen} FROM vault.identity v
        JOIN meta.batches b ON b.batch_id = v.batch_id
        WHERE v.field IN ({fields}) AND {in_part("v.resident_key", part)}
          AND v.resident_key IN (SELECT resident_key FROM {residents})
        GROUP BY v.resident_key"""


def opened_fields(vault: pd.DataFrame, key: str, cipher: VaultCipher) -> pd.DataFrame:
    """One row per key with one column per field, the values opened (raw: keep local)."""
    columns: dict[str, pd.Series] = {}
    for field, part in vault.groupby("field"):
        keys = part[key].astype("string")
        opened = cipher.decrypt_column(part["ciphertext"], str(field), keys)
        opened.index = pd.Index(keys.array)
        columns[str(field)] = opened[~opened.index.duplicated(keep="first")]
    return pd.DataFrame(columns)


def open_residents(con: duckdb.DuckDBPyConnection, cipher: VaultCipher,
                   residents: str) -> pd.DataFrame:
    """The residents of relation `residents` (resident_key, gender, grid_code,
    household_key) opened for comparison, ordered by key (raw values: keep local)."""
    rows = con.execute(f"""SELECT r.resident_key, r.gender, r.grid_code, r.household_key,
               e.* EXCLUDE (resident_key)
        FROM {residents} r LEFT JOIN ({entries_sql(residents)}) e USING (resident_key)
        ORDER BY r.resident_key""").fetch_df()
    return opened(rows, cipher)


def opened(rows: pd.DataFrame, cipher: VaultCipher) -> pd.DataFrame:
    """The comparison frame of registry rows carrying their chosen ciphertexts."""
    keys = rows["resident_key"].astype("string")
    field = {f: cipher.decrypt_column(rows[f].where(rows[f].notna(), None), f, keys)
             for f in OPENED_FIELDS}
    return pd.DataFrame({
        "unique_id": rows["resident_key"].to_numpy(),
        "name": field["name"].to_numpy(dtype=object),
        "gender": rows["gender"].to_numpy(),
        "birth_date": birth_date_from_id(field["resident_id"]).to_numpy(),
        "address": field["address"].to_numpy(dtype=object),
        "phone": field["phone"].to_numpy(dtype=object),
        "community_code": rows["grid_code"].str.slice(0, 12).to_numpy(),
        "grid_code": rows["grid_code"].to_numpy(),
        "household_key": rows["household_key"].to_numpy(),
    })
