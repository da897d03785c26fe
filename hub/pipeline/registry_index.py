"""The registry opened only where it is needed: keyed blocking values and cached models.

Linking a handful of sealed rows needs the registry residents that share a blocking value
with one of them, not the whole registry. The warehouse keeps, per current registry
resident and blocking rule of the linkage specs, that value as a keyed hash
(hub.linkage.blocking; linkage.registry_blocks), so a join finds those residents and only
they are opened from the vault. The hashes follow the registry: each refresh compares a
digest of what every resident's values come from (the registry row and the chosen vault
ciphertexts, which are deterministic) with the digest they were made from, and reopens the
changed residents only, a bounded chunk at a time; a new vault key or new rules rebuild
them. Beside the hashes it keeps each resident's comparison forms, sealed
(hub.pipeline.registry_forms), so that comparing residents does not make them again. The
models (u-probabilities and priors, no records) are kept per registry version in
linkage.models, so a new worker process does not train them again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from desensitize.vault import VaultCipher
from hub.ledger.current import CURRENT_BATCHES_SQL, current_rows_sql
from hub.linkage.blocking import key_check, keyed_blocks, rules_digest, rules_of
from hub.linkage.features import person_features
from hub.linkage.spec import SPECS, load_spec
from hub.linkage.tables import MODELS, REGISTRY_BLOCKS, REGISTRY_INDEX, REGISTRY_INPUTS
from hub.pipeline.registry_forms import FORM_COLUMNS, seal_forms
from hub.pipeline.registry_open import (
    OPENED_FIELDS,
    REGISTRY,
    entries_sql,
    in_part,
    opened,
    residents_sql,
)
from hub.warehouse.transaction import in_transaction

SPEC_NAMES = ("registry", "registry_duplicates")
# Residents opened, compared and hashed at a time when the index is (re)built: bounds the
# memory of a first build at a million residents.
CHUNK_RESIDENTS = 50_000
# Residents digested, and their vault entries chosen, per statement: the aggregates of a
# city's registry at once would not fit the warehouse's memory limit (a hash partition of
# residents at a time, each a scan of the registry and the vault).
PARTITION_RESIDENTS = 500_000
Progress = Callable[[str, int, int | None], None]
def indexed_rules() -> tuple[tuple[str, ...], ...]:
    """Every rule kept in the index: the specs' blocking rules and the duplicate search's
    deterministic ones (its prior is counted on them)."""
    specs = [load_spec(name) for name in SPEC_NAMES]
    return rules_of(*specs) + tuple(
        r for r in load_spec("registry_duplicates").deterministic if r not in rules_of(*specs))


def _version(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """What the registry's comparison values depend on, cheaply: the current registry
    batches and the vault's entries per batch."""
    grid = [str(b) for (b,) in con.execute(
        f"SELECT batch_id FROM ({CURRENT_BATCHES_SQL}) WHERE dataset = '{REGISTRY}' "
        "ORDER BY batch_id").fetchall()]
    vault = {str(b): int(n) for b, n in con.execute(
        "SELECT batch_id, count(*) FROM vault.identity GROUP BY ALL ORDER BY ALL").fetchall()}
    return {"grid": grid, "vault": vault}


def _new_batches(before: str, now: dict[str, Any]) -> list[str] | None:
    """The batches whose vault entries were added since `before`, when nothing else changed
    (the same registry batches, every earlier batch's entries as they were): only residents
    with entries in them can compare differently. None: any resident can."""
    try:
        old = json.loads(before)
    except ValueError:
        return None
    if not isinstance(old, dict) or old.get("grid") != now["grid"]:
        return None
    kept = old.get("vault", {})
    if any(now["vault"].get(batch) != n for batch, n in kept.items()):
        return None
    return [batch for batch in now["vault"] if batch not in kept]


def refresh(con: duckdb.DuckDBPyConnection, cipher: VaultCipher, key: bytes,
            chunk_residents: int = CHUNK_RESIDENTS,
            partition_residents: int = PARTITION_RESIDENTS,
            progress: Progress | None = None) -> dict[str, int]:
    """Bring the index up to the current registry. Returns the residents whose digest was
    compared (`checked`: all of them, or those a new batch's vault entries name), reopened
    (their digest changed) and dropped (no longer in the registry). `progress(stage, done,
    total)` hears of each chunk of residents reopened."""
    rules = indexed_rules()
    check, made_of = key_check(key), _made_of(rules)
    state = con.execute(f"SELECT key_check, rules, version FROM {REGISTRY_INDEX}").fetchall()
    version = _version(con)
    text = json.dumps(version, sort_keys=True)
    same_index = bool(state) and state[0][:2] == (check, made_of)
    if same_index and state[0][2] == text:
        return {"checked": 0, "reopened": 0, "dropped": 0}
    new = (_new_batches(str(state[0][2]), version) if same_index else None) or None
    if not same_index:
        # Recorded as made with this key and these rules from the start, with no registry
        # version: a build that dies part way is taken up where it stopped.
        def restart() -> None:
            forget(con)
            con.execute(f"INSERT INTO {REGISTRY_INDEX} VALUES (?, ?, '', 0, ?)",
                        [check, made_of, datetime.now(UTC)])

        in_transaction(con, restart)
    keys = None
    if new is not None:
        fields = ", ".join(f"'{f}'" for f in OPENED_FIELDS)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE registry_touched AS
            SELECT DISTINCT v.resident_key FROM vault.identity v
            SEMI JOIN {REGISTRY_INPUTS} i ON i.resident_key = v.resident_key
            WHERE v.field IN ({fields}) AND v.batch_id IN (SELECT unnest($new))""",
                    {"new": new})
        keys = "registry_touched"
    try:
        rows = int(con.execute(f"SELECT count(*) FROM ({current_rows_sql(REGISTRY, keys)})"
                               ).fetchall()[0][0])
        partitions = _partitions(rows, partition_residents)
        for number in range(partitions):
            into = "CREATE OR REPLACE TEMP TABLE registry_now AS" if number == 0 \
                else "INSERT INTO registry_now"
            con.execute(f"{into} {_digests_sql(keys, (number, partitions))}")
        # Only a look at every resident tells who left the registry.
        dropped = _drop_gone(con) if keys is None else 0
        con.execute(f"""CREATE OR REPLACE TEMP TABLE registry_changed AS
            SELECT n.* FROM registry_now n ANTI JOIN {REGISTRY_INPUTS} i
              ON i.resident_key = n.resident_key AND i.digest = n.digest""")
        reopened = int(con.execute("SELECT count(*) FROM registry_changed").fetchall()[0][0])
        checked = int(con.execute("SELECT count(*) FROM registry_now").fetchall()[0][0])

        # Their old values go at once: deleting them chunk by chunk would scan the whole
        # index once per chunk. Until a chunk is written again, its residents have no digest
        # in the index, so a refresh after a crash reopens them.
        def clear() -> None:
            for table in (REGISTRY_BLOCKS, REGISTRY_INPUTS):
                con.execute(f"DELETE FROM {table} WHERE resident_key IN "
                            "(SELECT resident_key FROM registry_changed)")

        if reopened:
            in_transaction(con, clear)
            opened = _partitions(reopened, partition_residents)
            counted = _counted(progress, reopened) if progress is not None else None
            for number in range(opened):
                _reindex(con, cipher, key, rules, (number, opened), chunk_residents, counted)

        def record() -> None:
            con.execute(f"DELETE FROM {REGISTRY_INDEX}")
            con.execute(f"INSERT INTO {REGISTRY_INDEX} SELECT ?, ?, ?, count(*), ? "
                        f"FROM {REGISTRY_INPUTS}", [check, made_of, text, datetime.now(UTC)])

        in_transaction(con, record)
    finally:
        for table in ("registry_changed", "registry_now", "registry_touched"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return {"checked": checked, "reopened": reopened, "dropped": dropped}


def _made_of(rules: tuple[tuple[str, ...], ...]) -> str:
    """What the index is made of: its rules and the layout of the sealed forms."""
    return rules_digest((*rules, ("forms", *FORM_COLUMNS)))


def _partitions(residents: int, per_partition: int) -> int:
    return max(1, -(-residents // per_partition))


def _counted(progress: Progress, total: int) -> Callable[[int], None]:
    """progress("registry index", residents reopened so far, `total`), fed chunk sizes."""
    done = 0

    def chunk(rows: int) -> None:
        nonlocal done
        done += rows
        progress("registry index", done, total)

    return chunk


def _digests_sql(keys: str | None, part: tuple[int, int]) -> str:
    """Each current registry resident of the partition (of relation `keys` when given) with
    a digest of what the index is built from: the registry row and the chosen vault
    entries (a 64-bit hash of each: any change of a ciphertext changes the digest)."""
    entries = ", ".join(f"coalesce(CAST(e.\"{f}\" AS VARCHAR), '-')" for f in OPENED_FIELDS)
    return f"""
        WITH r AS ({residents_sql(keys, part)})
        SELECT r.*, md5(concat_ws('|', coalesce('+' || r.gender, '-'),
                                  coalesce('+' || r.grid_code, '-'),
                                  coalesce('+' || r.household_key, '-'), {entries})) AS digest
        FROM r LEFT JOIN ({entries_sql("r", "hash(v.ciphertext)", part)}) e
        USING (resident_key)"""


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Empty the index (a new key or new rules): the next refresh rebuilds it whole."""
    for table in (REGISTRY_BLOCKS, REGISTRY_INPUTS, REGISTRY_INDEX):
        con.execute(f"DELETE FROM {table}")


def _drop_gone(con: duckdb.DuckDBPyConnection) -> int:
    """Forget residents no longer in the registry."""
    gone = int(con.execute(f"SELECT count(*) FROM {REGISTRY_INPUTS} i "
                           "ANTI JOIN registry_now n USING (resident_key)").fetchall()[0][0])
    if gone:
        def work() -> None:
            for table in (REGISTRY_BLOCKS, REGISTRY_INPUTS):
                con.execute(f"DELETE FROM {table} WHERE resident_key NOT IN "
                            "(SELECT resident_key FROM registry_now)")

        in_transaction(con, work)
    return gone


def _reindex(con: duckdb.DuckDBPyConnection, cipher: VaultCipher, key: bytes,
             rules: tuple[tuple[str, ...], ...], part: tuple[int, int], chunk_residents: int,
             progress: Callable[[int], None] | None) -> None:
    """Open the changed residents of hash partition `part` a chunk at a time, from one pass
    over them with their chosen vault entries (no chunk scans the vault again), and write
    their hashes and sealed forms through a second connection while the pass reads on."""
    reader = con.sql(f"""SELECT c.resident_key, c.gender, c.grid_code, c.household_key,
               c.digest, e.* EXCLUDE (resident_key)
        FROM registry_changed c
        LEFT JOIN ({entries_sql("registry_changed", part=part)}) e USING (resident_key)
        WHERE {in_part("c.resident_key", part)}""").to_arrow_reader(chunk_residents)
    writer = con.cursor()
    try:
        for batch in reader:
            rows = batch.to_pandas()
            features = person_features(opened(rows, cipher))
            writer.register("chunk_blocks", keyed_blocks(features, rules, key))
            # Keys, households and digests as the stream gave them, beside the sealed forms
            # (features keep the rows' order).
            writer.register("chunk_inputs", pa.table({
                **{c: batch.column(c) for c in ("resident_key", "household_key", "digest")},
                "forms": seal_forms(features, cipher)}))

            def work() -> None:
                writer.execute(f"INSERT INTO {REGISTRY_BLOCKS} SELECT unique_id, rule, block "
                               "FROM chunk_blocks")
                writer.execute(f"INSERT INTO {REGISTRY_INPUTS} BY NAME SELECT * "
                               "FROM chunk_inputs")

            in_transaction(writer, work)
            for view in ("chunk_blocks", "chunk_inputs"):
                writer.unregister(view)
            if progress is not None:
                progress(len(rows))
    finally:
        reader.close()  # the connection runs nothing else while a result is open
        writer.close()


def sharing_residents(con: duckdb.DuckDBPyConnection, blocks: pd.DataFrame) -> str:
    """A temporary table `registry_sharing` of the current registry residents that share a
    blocking value with `blocks` (unique_id, rule, block); returns its name."""
    con.register("record_blocks", blocks)
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE registry_sharing_keys AS
            SELECT DISTINCT b.resident_key FROM {REGISTRY_BLOCKS} b
            JOIN record_blocks r ON r.rule = b.rule AND r.block = b.block""")
        con.execute(f"CREATE OR REPLACE TEMP TABLE registry_sharing AS "
                    f"{residents_sql('registry_sharing_keys')}")
    finally:
        con.unregister("record_blocks")
        con.execute("DROP TABLE IF EXISTS registry_sharing_keys")
    return "registry_sharing"


def spec_text(name: str) -> str:
    return (SPECS / f"{name}.yaml").read_text(encoding="utf-8")


def cached_model(con: duckdb.DuckDBPyConnection, spec: str, sample_where: str,
                 extra: str, train: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """The model of `spec` for the registry as it is: kept in linkage.models under a digest
    of the spec, `extra` and the digests of the residents it is trained on (those of
    linkage.registry_inputs passing `sample_where`, over `unique_id`); else
    `train(relation of those residents)`, kept."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE model_sample AS
        SELECT resident_key, digest FROM (
            SELECT resident_key, resident_key AS unique_id, digest FROM {REGISTRY_INPUTS})
        WHERE 1=1 {sample_where}""")
    try:
        row = con.execute("SELECT coalesce(md5(string_agg(resident_key || digest, ',' "
                          "ORDER BY resident_key)), '') FROM model_sample").fetchall()
        version = hashlib.sha256(
            f"{spec_text(spec)}\n{extra}\n{row[0][0]}".encode()).hexdigest()[:32]
        kept = con.execute(f"SELECT model FROM {MODELS} WHERE spec = ? AND version = ?",
                           [spec, version]).fetchall()
        if kept:
            model: dict[str, Any] = json.loads(kept[0][0])
            return model
        con.execute(f"CREATE OR REPLACE TEMP TABLE model_residents AS "
                    f"{residents_sql('model_sample')}")
        model = train("model_residents")

        def keep() -> None:
            con.execute(f"DELETE FROM {MODELS} WHERE spec = ?", [spec])
            con.execute(f"INSERT INTO {MODELS} VALUES (?, ?, ?, ?)",
                        [spec, version, json.dumps(model), datetime.now(UTC)])

        in_transaction(con, keep)
        return model
    finally:
        con.execute("DROP TABLE IF EXISTS model_residents")
        con.execute("DROP TABLE IF EXISTS model_sample")


def registry_size(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute(f"SELECT count(*) FROM {REGISTRY_INPUTS}").fetchall()[0][0])
