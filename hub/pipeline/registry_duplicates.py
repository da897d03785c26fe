"""Residents registered twice in the grid registry: pairs of current residents that are
probably one person under two ID numbers (hub.linkage.model.registry_duplicates), found
through the registry's keyed blocking index (hub.pipeline.registry_index) without opening
the whole registry: only residents that share a blocking value with someone of another
household are opened, a chunk of values at a time. Each pair becomes a finding for the grid
centre (hub.quality.consistency); nothing is merged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from desensitize.vault import VaultCipher
from hub.linkage.blocking import rule_text
from hub.linkage.features import person_features
from hub.linkage.model import duplicates_model as train_duplicates
from hub.linkage.model import score_duplicates, u_sample_condition
from hub.linkage.spec import LinkageSpec, load_spec
from hub.linkage.tables import REGISTRY_BLOCKS, REGISTRY_DUPLICATES, REGISTRY_INPUTS
from hub.pipeline import registry_index as index
from hub.warehouse.transaction import in_transaction

# The duplicate search trains on the whole registry (EM) up to this many residents; above,
# the whole registry would not fit a modest memory budget, and it trains on a sample drawn
# by key (hub.pipeline.linkage.duplicates_model).
DUPLICATES_TRAINED_ON = 50_000


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
        sample = person_features(index.open_residents(con, cipher, residents))
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
    """Temporary table duplicate_members (resident_key, c): the members of each blocking
    value that holds residents of two households or more, the values taken in order and
    grouped into chunks of about `per_chunk` members. Returns the chunks."""
    names = ", ".join(f"'{rule_text(r)}'" for r in spec.blocking)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE duplicate_members AS
        WITH members AS (
            SELECT b.rule, b.block, b.resident_key, coalesce(i.household_key, '') AS household
            FROM {REGISTRY_BLOCKS} b JOIN {REGISTRY_INPUTS} i USING (resident_key)
            WHERE b.rule IN ({names})),
        shared AS (
            SELECT rule, block, count(*) AS n FROM members GROUP BY ALL
            HAVING count(DISTINCT household) > 1),
        numbered AS (
            SELECT rule, block, CAST((sum(n) OVER (ORDER BY rule, block) - n) // $per
                                     AS INTEGER) AS c FROM shared)
        SELECT DISTINCT m.resident_key, n.c FROM members m JOIN numbered n USING (rule, block)
        """, {"per": per_chunk})
    return int(con.execute("SELECT coalesce(max(c) + 1, 0) FROM duplicate_members"
                           ).fetchall()[0][0])


def find_registry_duplicates(con: duckdb.DuckDBPyConnection, cipher: VaultCipher,
                             threshold: float, blocks_key: bytes,
                             per_chunk: int = index.CHUNK_RESIDENTS) -> int:
    """Replace linkage.registry_duplicates with the current registry's pairs of residents
    that are probably one person (two ID numbers, a typo), at or above `threshold`; both
    orders of a pair, so that each resident's finding names the other. Returns the pairs.

    Only residents that share a blocking value with someone of another household are
    opened, a chunk of blocking values at a time: every pair of the whole registry's
    search shares one of them, so it is scored in that value's chunk, with the same model."""
    index.refresh(con, cipher, blocks_key)
    spec = load_spec("registry_duplicates")
    found = [pd.DataFrame(columns=["left_id", "right_id", "probability"])]
    chunks = _duplicate_chunks(con, spec, per_chunk)
    try:
        model = duplicates_model(con, cipher, spec) if chunks else None
        for chunk in range(chunks):
            con.execute(f"""CREATE OR REPLACE TEMP TABLE duplicate_chunk AS
                {index.residents_sql(
                    f"(SELECT resident_key FROM duplicate_members WHERE c = {chunk})")}""")
            try:
                registry = index.open_residents(con, cipher, "duplicate_chunk")
            finally:
                con.execute("DROP TABLE IF EXISTS duplicate_chunk")
            assert model is not None
            found.append(score_duplicates(model, person_features(registry),
                                          threshold=threshold))
            del registry
    finally:
        con.execute("DROP TABLE IF EXISTS duplicate_members")
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


