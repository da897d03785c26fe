"""Each registry resident's comparison forms, kept sealed beside the blocking index.

Comparing residents needs their forms (hub.linkage.features): a simplified name, its pinyin
and shape key, birth digits, a normal address, a phone. Making them from the vault's raw
values costs far more than anything else in the duplicate search, which compares most of a
city's residents. The index build makes them anyway (the blocking hashes are made of them),
so it keeps them, sealed with the vault cipher like the vault's own entries: one AES-SIV
ciphertext per resident, under the field FIELD and the resident's key, in
linkage.registry_inputs. They follow the same digest as the hashes, so they are current
whenever the index is; a new vault key or a rotation empties them with the index.

Sealed, the forms are what the vault's values are: nothing to whoever holds the warehouse
without the vault key. Opened, they are raw, and stay in the pipeline worker's memory.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from desensitize.vault import VaultCipher
from hub.linkage.features import FEATURE_COLUMNS
from hub.linkage.tables import REGISTRY_INPUTS

FIELD = "linkage forms"
# Every form but the key, in this order. Part of the index's digest: another layout means
# forms sealed in the old one, so the index is rebuilt.
FORM_COLUMNS = tuple(c for c in FEATURE_COLUMNS if c != "unique_id")
# Forms are joined by the unit separator, a missing one written as the record separator.
# Neither occurs in a form: names keep only Han characters and dots, addresses lose all
# whitespace (both separators are whitespace to Python), and the rest are digits, codes,
# dates and pseudonyms.
_SEPARATOR, _MISSING = "\x1f", "\x1e"


def seal_forms(features: pd.DataFrame, cipher: VaultCipher) -> pa.Array:
    """One sealed text per row of `features` (hub.linkage.features.person_features), in
    its order."""
    columns = [pc.fill_null(pa.array(features[c].to_numpy(dtype=object), pa.string()),
                            _MISSING) for c in FORM_COLUMNS]
    packed = pc.binary_join_element_wise(*columns, _SEPARATOR)
    keys = features["unique_id"].astype("string")
    return cipher.seal_present(pd.Series(pd.arrays.ArrowStringArray(packed), index=keys.index),
                               FIELD, keys)


def unseal_forms(keys: pd.Series, sealed: pd.Series, cipher: VaultCipher) -> pd.DataFrame:
    """The features frame of residents `keys` from their sealed forms (aligned), as
    person_features makes it: object columns, None where a form is missing."""
    opened = cipher.decrypt_column(sealed.set_axis(keys.index), FIELD, keys)
    parts = pc.split_pattern(pa.array(opened.array, pa.string()), _SEPARATOR)
    frame: dict[str, object] = {"unique_id": keys.astype(str).to_numpy(dtype=object)}
    for number, column in enumerate(FORM_COLUMNS):
        values = pc.list_element(parts, number)
        values = pc.if_else(pc.equal(values, _MISSING), pa.scalar(None, pa.string()), values)
        frame[column] = values.to_numpy(zero_copy_only=False)
    out = pd.DataFrame(frame, columns=list(FEATURE_COLUMNS)).astype(object)
    return out.where(out.notna(), None)


def open_forms(con: duckdb.DuckDBPyConnection, cipher: VaultCipher,
               residents: str) -> pd.DataFrame:
    """The features of the indexed residents of relation `residents` (a resident_key
    column), ordered by key (raw forms: keep local)."""
    rows = con.execute(f"""SELECT i.resident_key, i.forms FROM {REGISTRY_INPUTS} i
        SEMI JOIN {residents} r ON r.resident_key = i.resident_key
        ORDER BY i.resident_key""").fetch_df()
    return unseal_forms(rows["resident_key"], rows["forms"], cipher)
