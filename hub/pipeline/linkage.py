"""Linking sealed rows (hub.pipeline.sealing) to the grid registry's residents.

Runs in the pipeline worker before each publish, over the sealed rows of current batches that
have no decision yet: their identifiers, and those of the registry residents that share a
keyed blocking value with one of them (hub.pipeline.registry_index), are opened from the
vault here only, turned into comparison columns (hub.linkage.features) and scored by the
registry spec (hub.linkage.model) with the model kept for the registry as it is. Each row
then gets one decision in `linkage.decisions`: linked (above HUB_LINKAGE_AUTO_LINK, no close
runner-up), review (a `linkage_reviews` item for the owning department's data steward, who
sees masked values and the level that decided each field), or unlinked (it stays
quarantined). Nothing opened here is written anywhere: decisions hold
resident keys, probabilities and level labels; review items hold masked values.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import Engine, insert, select, update

from desensitize.masking import mask_id, mask_name, mask_phone
from desensitize.vault import VaultCipher
from hub.ledger.current import CURRENT_BATCHES_SQL
from hub.linkage.blocking import keyed_blocks
from hub.linkage.comparisons import level_of
from hub.linkage.decisions import Decision, Thresholds, decide
from hub.linkage.features import person_features
from hub.linkage.model import prior_model, score_with_model, u_sample_condition
from hub.linkage.spec import LinkageSpec, load_spec
from hub.linkage.tables import (
    DECISIONS,
    SEALED_VAULT,
    sealed_table,
)
from hub.pipeline import registry_index as index
from hub.pipeline.registry_open import open_residents, opened_fields
from hub.pipeline.reviews import ACCEPTED, OPEN, REJECTED
from hub.state.tables import linkage_reviews
from hub.warehouse.crosswalk import mapping_sql
from schemas.compile_ddl import GRID_SCHEME_COLUMN, curated_columns
from schemas.identity import birth_date_from_id, gender_from_id
from schemas.registry import source_contracts

REGISTRY = "grid"


def _pending_sql() -> str | None:
    parts = []
    for name, contract in source_contracts().items():
        if contract.ledger is None:
            continue
        columns = {n for n, _ in curated_columns(contract)}
        grid = ("t.grid_code, t.grid_scheme" if {"grid_code", GRID_SCHEME_COLUMN} <= columns
                else "NULL::VARCHAR AS grid_code, NULL::VARCHAR AS grid_scheme")
        parts.append(
            f"SELECT t.batch_id, t.source_row, '{name}' AS dataset, {grid}, b.as_of AS on_date, "
            f"t.identity_key "
            f"FROM {sealed_table(name)} t JOIN ({CURRENT_BATCHES_SQL}) b "
            f"ON b.batch_id = t.batch_id AND b.dataset = '{name}' "
            f"ANTI JOIN {DECISIONS} d ON d.batch_id = t.batch_id AND d.source_row = t.source_row")
    return " UNION ALL ".join(parts) if parts else None


def _sealed_sql(columns: str) -> str:
    return " UNION ALL ".join(f"SELECT {columns} FROM {sealed_table(n)}"
                              for n, c in source_contracts().items() if c.ledger is not None)


def _reuse_decisions(con: duckdb.DuckDBPyConnection, pending: pd.DataFrame) -> pd.DataFrame:
    """Pending rows whose identifiers (their keyed identity) were decided before, in an
    earlier batch, take that decision as it was: the same resident, probability and date.
    A decision still under review is not copied (the new row gets its own item). Returns
    the pending rows left to score."""
    con.register("pending_rows", pending)
    con.execute(f"""INSERT INTO {DECISIONS} BY NAME
        SELECT p.batch_id, p.source_row, p.dataset, d.resident_key, d.probability, d.runner_up,
               d.levels, d.decision, d.method, d.decided_at, d.decided_by
        FROM pending_rows p JOIN (
            SELECT s.identity_key, d.* EXCLUDE (batch_id, source_row, dataset)
            FROM ({_sealed_sql("batch_id, source_row, identity_key")}) s
            JOIN {DECISIONS} d USING (batch_id, source_row)
            WHERE d.decision <> 'review' AND s.identity_key IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY s.identity_key
                                       ORDER BY d.decided_at DESC, d.batch_id DESC) = 1
        ) d ON d.identity_key = p.identity_key""")
    left = con.execute(f"SELECT p.* FROM pending_rows p ANTI JOIN {DECISIONS} d "
                       "USING (batch_id, source_row) ORDER BY batch_id, source_row").fetch_df()
    con.unregister("pending_rows")
    return left


def _candidates(con: duckdb.DuckDBPyConnection, pending: pd.DataFrame,
                cipher: VaultCipher) -> pd.DataFrame:
    keys = pending["batch_id"] + ":" + pending["source_row"].astype(str)
    con.register("pending_keys", pd.DataFrame({"candidate_key": keys}))
    vault = con.execute(f"SELECT v.candidate_key, v.field, v.ciphertext FROM {SEALED_VAULT} v "
                        "SEMI JOIN pending_keys p USING (candidate_key)").fetch_df()
    con.unregister("pending_keys")
    opened = opened_fields(vault, "candidate_key", cipher).reindex(keys)
    ids = opened["resident_id"].astype("string") if "resident_id" in opened else \
        pd.Series(pd.NA, index=opened.index, dtype="string")
    # A failed ID number still says when and as whom the person was born, unless the row
    # states it apart (a wrong check character leaves the birth date and sex digits intact).
    born = birth_date_from_id(ids)
    sex = gender_from_id(ids)
    if "birth_date" in opened:
        born = pd.to_datetime(opened["birth_date"], errors="coerce").fillna(born)
    if "gender" in opened:
        sex = opened["gender"].fillna(sex)
    con.register("pending_codes", pending.assign(scheme=pending["grid_scheme"],
                                                  code=pending["grid_code"]))
    places = con.execute(f"""SELECT m.grid_code, m.community_code FROM pending_codes p
        LEFT JOIN ({mapping_sql("(SELECT DISTINCT scheme, code, on_date FROM pending_codes)")})
        m ON m.scheme = p.scheme AND m.code = p.code AND m.on_date IS NOT DISTINCT FROM p.on_date
        ORDER BY p.batch_id, p.source_row""").fetch_df()
    con.unregister("pending_codes")
    return pd.DataFrame({
        "unique_id": keys.to_numpy(),
        "name": opened.get("name", pd.Series(index=opened.index, dtype=object)).to_numpy(),
        "gender": sex.to_numpy(),
        "birth_date": born.to_numpy(),
        "address": opened.get("address", pd.Series(index=opened.index, dtype=object)).to_numpy(),
        "phone": opened.get("phone", pd.Series(index=opened.index, dtype=object)).to_numpy(),
        "community_code": places["community_code"].to_numpy(),
        "grid_code": places["grid_code"].to_numpy(),
        "ids": ids.to_numpy(),
    })


def _masked(frame: pd.DataFrame) -> pd.DataFrame:
    """What a reviewer may see of each record: masked, generalised, never a raw value."""
    def text(column: str) -> pd.Series:
        return frame[column].astype("string") if column in frame else \
            pd.Series(pd.NA, index=frame.index, dtype="string")

    born = pd.to_datetime(frame["birth_date"], errors="coerce")
    # An address is not shown at all, even masked: its level says how it compared.
    return pd.DataFrame({
        "name": mask_name(text("name")).to_numpy(),
        "birth": born.dt.strftime("%Y年").to_numpy(),
        "sex": frame["gender"].map({"M": "男", "F": "女"}).to_numpy(),
        "address": None,
        "phone": mask_phone(text("phone")).to_numpy(),
        "place": frame["community_code"].to_numpy(),
        "id_number": mask_id(text("ids")).to_numpy(),
    }, index=frame["unique_id"].to_numpy())


def _levels(spec: LinkageSpec, row: pd.Series) -> dict[str, Any]:
    out = {}
    for field in spec.fields:
        level = level_of(field, int(row[f"gamma_{field.name}"]))
        out[field.name] = {"level": level.label, "level_zh": level.zh,
                           "weight": round(float(row[f"mw_{field.name}"]), 2)}
    return out


def link_pending(con: duckdb.DuckDBPyConnection, engine: Engine, cipher: VaultCipher,
                 thresholds: Thresholds, blocks_key: bytes, now: datetime | None = None
                 ) -> dict[str, int]:
    """Score every sealed row of a current batch that has no decision yet; returns counts.

    Only the registry residents sharing a blocking value with a pending row are opened
    (hub.pipeline.registry_index): the pairs scored are those of the whole registry, every
    rule being an equality, and the model is the whole registry's (kept per version)."""
    now = now or datetime.now(UTC)
    counts = {"candidates": 0, Decision.LINKED: 0, Decision.REVIEW: 0, Decision.UNLINKED: 0,
              "reused": 0, "registry_checked": 0, "registry_reopened": 0,
              "registry_opened": 0}
    sql = _pending_sql()
    pending = con.execute(sql + " ORDER BY batch_id, source_row").fetch_df() if sql else None
    if pending is None or pending.empty:
        return counts
    reused = len(pending)
    pending = _reuse_decisions(con, pending)
    counts["reused"] = reused - len(pending)
    if pending.empty:
        return counts
    spec = load_spec("registry")
    refreshed = index.refresh(con, cipher, blocks_key)
    counts["registry_checked"], counts["registry_reopened"] = \
        refreshed["checked"], refreshed["reopened"]
    candidates = _candidates(con, pending, cipher)
    features = person_features(candidates)
    sharing = index.sharing_residents(
        con, keyed_blocks(features, spec.blocking, blocks_key))
    try:
        registry = open_residents(con, cipher, sharing)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {sharing}")
    counts["registry_opened"] = len(registry)
    best = pd.DataFrame(columns=["registry_id", "probability", "runner_up"])
    if not registry.empty:
        run = score_with_model(spec, registry_model(con, cipher, spec), person_features(registry),
                               features)
        best = run.best.set_index("candidate_id")
    best = best.reindex(candidates["unique_id"])
    best["probability"] = best["probability"].fillna(0.0)
    best["runner_up"] = best["runner_up"].fillna(0.0)
    best["decision"] = decide(best, thresholds).to_numpy()
    reg_masked = _masked(registry.assign(ids=None)) if not registry.empty else None
    cand_masked = _masked(candidates)
    rows, reviews = [], []
    for (key, scored), (_, item) in zip(best.iterrows(), pending.iterrows(), strict=True):
        decision = str(scored["decision"])
        matched = decision != Decision.UNLINKED
        levels = _levels(spec, scored) if pd.notna(scored.get("registry_id")) else {}
        rows.append({
            "batch_id": item["batch_id"], "source_row": int(item["source_row"]),
            "dataset": item["dataset"],
            "resident_key": scored["registry_id"] if matched else None,
            "probability": float(scored["probability"]),
            "runner_up": float(scored["runner_up"]), "levels": json.dumps(levels),
            "decision": decision, "method": "match" if decision == Decision.LINKED else None,
            "decided_at": now, "decided_by": None})
        counts[decision] += 1
        if decision == Decision.REVIEW and reg_masked is not None:
            resident = reg_masked.loc[scored["registry_id"]]
            candidate = cand_masked.loc[str(key)]
            comparison = [{"field": name, **level,
                           "candidate": _clean(candidate.get(name)),
                           "resident": _clean(resident.get(name))}
                          for name, level in levels.items()]
            reviews.append({
                "review_id": "rv-" + secrets.token_hex(12), "batch_id": item["batch_id"],
                "source_row": int(item["source_row"]), "dataset": item["dataset"],
                "resident_key": scored["registry_id"],
                "probability": float(scored["probability"]),
                "runner_up": float(scored["runner_up"]), "comparison": comparison,
                "status": OPEN, "created_at": now})
    counts["candidates"] = len(rows)
    con.register("new_decisions", pd.DataFrame(rows))
    con.execute(f"INSERT INTO {DECISIONS} BY NAME SELECT * REPLACE (CAST(levels AS JSON) AS "
                "levels) FROM new_decisions")
    con.unregister("new_decisions")
    if reviews:
        with engine.begin() as conn:
            conn.execute(insert(linkage_reviews), reviews)
    return counts


def _clean(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) \
        or value is pd.NA else str(value)


def registry_model(con: duckdb.DuckDBPyConnection, cipher: VaultCipher,
                   spec: LinkageSpec) -> dict[str, Any]:
    """The pipeline's model for the registry as it is (link_with_priors'): u from the very
    records Splink would sample from the whole registry, drawn in the warehouse by their
    keys, and opened alone; kept per registry version (hub.pipeline.registry_index)."""
    size = index.registry_size(con)

    def train(residents: str) -> dict[str, Any]:
        sample = person_features(open_residents(con, cipher, residents))
        return prior_model(spec, sample, size, drawn=True)

    return index.cached_model(con, spec.name, u_sample_condition(size), f"residents {size}",
                              train)


def reviews_waiting(engine: Engine) -> bool:
    """A reviewer decided and the worker has not carried the decision out yet."""
    t = linkage_reviews
    with engine.connect() as conn:
        return conn.execute(select(t.c.review_id).where(
            t.c.status.in_([ACCEPTED, REJECTED]), t.c.applied_at.is_(None)).limit(1)
        ).first() is not None


def _same_rows(con: duckdb.DuckDBPyConnection, review: Any) -> list[tuple[str, int]]:
    """The reviewed row and every row under review with the same identifiers (the same
    row sent again in a later batch) proposed for the same resident."""
    sealed = _sealed_sql("batch_id, source_row, identity_key")
    rows = con.execute(f"""
        SELECT s.batch_id, s.source_row FROM ({sealed}) s
        JOIN {DECISIONS} d USING (batch_id, source_row)
        WHERE (s.batch_id = ? AND s.source_row = ?)
           OR (d.decision = 'review' AND d.resident_key = ? AND s.identity_key = (
                SELECT identity_key FROM ({sealed}) WHERE batch_id = ? AND source_row = ?))
        """, [review["batch_id"], review["source_row"], review["resident_key"],
              review["batch_id"], review["source_row"]]).fetchall()
    return [(str(b), int(r)) for b, r in rows]


def apply_reviews(con: duckdb.DuckDBPyConnection, engine: Engine) -> int:
    """Carry reviewers' decisions into linkage.decisions: accepted links the row (method
    review), rejected keeps it quarantined; the same row sent again in another batch and
    still under review follows the decision (its own item is closed with it). Returns how
    many decisions were applied."""
    t = linkage_reviews
    with engine.connect() as conn:
        decided = conn.execute(select(t).where(t.c.status.in_([ACCEPTED, REJECTED]),
                                               t.c.applied_at.is_(None))).mappings().all()
    now = datetime.now(UTC)
    for review in decided:
        accepted = review["status"] == ACCEPTED
        rows = _same_rows(con, review)
        for batch_id, source_row in rows:
            con.execute(
                f"UPDATE {DECISIONS} SET decision = ?, method = ?, decided_at = ?, "
                "decided_by = ? WHERE batch_id = ? AND source_row = ?",
                [Decision.LINKED.value if accepted else "rejected",
                 "review" if accepted else None, review["decided_at"], review["decided_by"],
                 batch_id, source_row])
        with engine.begin() as conn:
            for batch_id, source_row in rows:
                conn.execute(update(t).where(t.c.batch_id == batch_id,
                                             t.c.source_row == source_row,
                                             t.c.status == OPEN)
                             .values(status=review["status"], decided_by=review["decided_by"],
                                     decided_at=review["decided_at"], applied_at=now))
            conn.execute(update(t).where(t.c.review_id == review["review_id"])
                         .values(applied_at=now))
    return len(decided)
