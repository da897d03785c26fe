"""Residents registered twice in the grid registry: pairs of current residents that are
probably one person under two ID numbers (hub.linkage.model.registry_duplicates), found
through the registry's keyed blocking index (hub.pipeline.registry_index): only residents
that share a blocking value with someone of another household are compared, a chunk of
values at a time, from the comparison forms the index keeps sealed. Each pair becomes a
finding for the grid centre (hub.quality.consistency); nothing is merged.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from desensitize.vault import VaultCipher
from hub.linkage.blocking import rule_text
from hub.linkage.model import duplicates_model as train_duplicates
from hub.linkage.model import score_duplicates, u_sample_condition
from hub.linkage.spec import LinkageSpec, load_spec
from hub.linkage.tables import REGISTRY_BLOCKS, REGISTRY_DUPLICATES, REGISTRY_INPUTS
from hub.pipeline import registry_index as index
from hub.pipeline.registry_forms import open_forms, unseal_forms
from hub.warehouse.transaction import in_transaction

# The duplicate search trains on the whole registry (EM) up to this many residents; above,
# the whole registry would not fit a modest memory budget, and it trains on a sample drawn
# by key (hub.pipeline.linkage.duplicates_model).
DUPLICATES_TRAINED_ON = 50_000
# Members of shared blocking values scored at a time: each chunk is one Splink run, whose
# fixed cost a larger chunk spreads, and whose features a smaller one bounds.
SEARCH_CHUNK = 100_000
# Rows of sealed forms read from the warehouse at a time; a chunk may span several reads.
STREAM_ROWS = 50_000
STAGE = "registry duplicates"


def duplicates_model(con: duckdb.DuckDBPyConnection, cipher: VaultCipher,
                     spec: LinkageSpec) -> dict[str, Any]:
    """The duplicate search's model, trained without labels on the whole registry up to
    DUPLICATES_TRAINED_ON residents; above, on the records Splink samples for u, drawn by
    key (hub.linkage.model.duplicates_model says what stands for EM then); kept per
    registry version."""
    size = index.registry_size(con)
    where, pairs = "", None
    if size > DUPLICATES_TRAINED_ON:
        where, pairs = u_sample_condition(size), _pairs_passing(con, spec.deterministic)

    def train(residents: str) -> dict[str, Any]:
        sample = open_forms(con, cipher, residents)
        return train_duplicates(spec, sample, size, deterministic_pairs=pairs)

    return index.cached_model(con, spec.name, where, f"residents {size} pairs {pairs}", train)


def _pairs_passing(con: duckdb.DuckDBPyConnection, rules: tuple[tuple[str, ...], ...]) -> int:
    """Pairs of registry residents whose keyed values agree on any of `rules`."""
    names = ", ".join(f"'{rule_text(r)}'" for r in rules)
    row = con.execute(f"""SELECT count(*) FROM (
        SELECT DISTINCT a.resident_key, b.resident_key FROM {REGISTRY_BLOCKS} a
        JOIN {REGISTRY_BLOCKS} b ON a.rule = b.rule AND a.block = b.block
         AND a.resident_key < b.resident_key
        WHERE a.rule IN ({names}))""").fetchall()
    return int(row[0][0])


def _duplicate_chunks(con: duckdb.DuckDBPyConnection, spec: LinkageSpec,
                      per_chunk: int) -> int:
    """Temporary table duplicate_members (c, resident_key): the members of each blocking
    value that holds residents of two households or more, each value's members in one
    chunk c, the values spread over chunks of about `per_chunk` members by a hash of the
    value. Returns the chunks."""
    names = ", ".join(f"'{rule_text(r)}'" for r in spec.blocking)
    # Values shared across households: their households counted per value from one row
    # per (value, household), two plain aggregates that spill to disk when a city's do not
    # fit (a count of distinct households, or a min and max of their keys, is far slower).
    con.execute(f"""CREATE OR REPLACE TEMP TABLE duplicate_values AS
        SELECT rule, block, sum(members) AS members FROM (
            SELECT b.rule, b.block, coalesce(i.household_key, '') AS household,
                   count(*) AS members
            FROM {REGISTRY_BLOCKS} b JOIN {REGISTRY_INPUTS} i USING (resident_key)
            WHERE b.rule IN ({names}) GROUP BY ALL)
        GROUP BY ALL HAVING count(*) > 1""")
    total = int(con.execute("SELECT coalesce(sum(members), 0) FROM duplicate_values"
                            ).fetchall()[0][0])
    chunks = -(-total // per_chunk)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE duplicate_members AS
        SELECT DISTINCT CAST(hash(v.rule, v.block) % $chunks AS INTEGER) AS c, b.resident_key
        FROM {REGISTRY_BLOCKS} b JOIN duplicate_values v USING (rule, block)""",
                {"chunks": max(chunks, 1)})
    return chunks


def _chunks_of_forms(con: duckdb.DuckDBPyConnection, cipher: VaultCipher
                     ) -> Generator[pd.DataFrame]:
    """The features of each chunk's members, chunk after chunk, from one pass over their
    sealed forms in chunk order: no chunk scans the registry again. `con` runs nothing
    else until the pass ends."""
    reader = con.sql(f"""SELECT m.c, i.resident_key, i.forms FROM duplicate_members m
        JOIN {REGISTRY_INPUTS} i USING (resident_key) ORDER BY m.c, i.resident_key
        """).to_arrow_reader(STREAM_ROWS)
    held: list[pa.Table] = []
    current = None
    try:
        for batch in reader:
            table = pa.Table.from_batches([batch])
            chunk = table.column("c").to_numpy()
            # A batch may end one chunk and start the next: cut it wherever c changes.
            cuts = [0, *(np.flatnonzero(chunk[1:] != chunk[:-1]) + 1).tolist(), len(chunk)]
            for start, stop in itertools.pairwise(cuts):
                if current is not None and chunk[start] != current and held:
                    yield _unsealed(held, cipher)
                    held = []
                current = chunk[start]
                held.append(table.slice(start, stop - start))
        if held:
            yield _unsealed(held, cipher)
    finally:
        reader.close()  # the connection runs nothing else while a result is open


def _unsealed(parts: list[pa.Table], cipher: VaultCipher) -> pd.DataFrame:
    table = pa.concat_tables(parts)
    return unseal_forms(table.column("resident_key").to_pandas(types_mapper=pd.ArrowDtype)
                        .astype("string"),
                        table.column("forms").to_pandas(types_mapper=pd.ArrowDtype), cipher)


def find_registry_duplicates(con: duckdb.DuckDBPyConnection, cipher: VaultCipher,
                             threshold: float, blocks_key: bytes,
                             per_chunk: int = SEARCH_CHUNK,
                             progress: index.Progress | None = None) -> int:
    """Replace linkage.registry_duplicates with the current registry's pairs of residents
    that are probably one person (two ID numbers, a typo), at or above `threshold`; both
    orders of a pair, so that each resident's finding names the other. Returns the pairs.

    Only residents that share a blocking value with someone of another household are
    compared, a chunk of blocking values at a time: every pair of the whole registry's
    search shares one of them, so it is scored in that value's chunk, with the same model.
    Their features come from the index's sealed forms (hub.pipeline.registry_forms).
    `progress(stage, done, total)` hears of the index and of each chunk scored."""
    index.refresh(con, cipher, blocks_key, progress=progress)
    spec = load_spec("registry_duplicates")
    found = [pd.DataFrame(columns=["left_id", "right_id", "probability"])]
    chunks = 0
    try:
        chunks = _duplicate_chunks(con, spec, per_chunk)
        if chunks:
            model = duplicates_model(con, cipher, spec)
            with closing(_chunks_of_forms(con, cipher)) as members:
                for done, features in enumerate(members, start=1):
                    found.append(score_duplicates(model, features, threshold=threshold))
                    if progress is not None:
                        progress(STAGE, min(done, chunks), chunks)
    finally:
        for table in ("duplicate_values", "duplicate_members"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    if progress is not None:
        progress(STAGE, chunks, chunks)
    pairs = pd.concat(found, ignore_index=True).drop_duplicates(["left_id", "right_id"])
    both = pd.DataFrame({
        "resident_key": pd.concat([pairs["left_id"], pairs["right_id"]]).astype(str),
        "other_key": pd.concat([pairs["right_id"], pairs["left_id"]]).astype(str),
        "probability": pd.concat([pairs["probability"], pairs["probability"]]).astype(float),
    })
    con.register("duplicate_pairs", both.assign(found_at=datetime.now(UTC)))

    def replace_pairs() -> None:
        con.execute(f"DELETE FROM {REGISTRY_DUPLICATES}")
        con.execute(f"INSERT INTO {REGISTRY_DUPLICATES} BY NAME SELECT * FROM duplicate_pairs")

    try:
        in_transaction(con, replace_pairs)
    finally:
        con.unregister("duplicate_pairs")
    return len(pairs)


