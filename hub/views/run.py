"""One publish (called by the worker): in full, or only what changed since the last one.

`publish_all` rebuilds the ledger and writes a new generation partition by partition
(hub.views.partition), so memory follows the partition size, not the district.
`publish_changes` recomputes only the residents whose facts changed since the published
generation, and their households (hub.views.changes), rewriting them in place one partition
per transaction (hub.views.patch); it falls back to `publish_all` when it cannot tell, or
when something every document depends on changed. Both give the same documents.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import duckdb
from sqlalchemy import Engine

from desensitize.keys import KeyRing
from desensitize.vault import VaultCipher
from hub.ledger.build import household_sql, rebuild_ledger, update_ledger
from hub.views.changes import FULL_ABOVE, ChangePlan, fingerprint, plan_changes, stage_affected
from hub.views.compute import compute_partition, prepare_views
from hub.views.partition import (
    PARTITION_RESIDENTS,
    Partitions,
    all_residents_sql,
    drop_partition_tables,
    stage,
    stage_ledger,
    staged_rows,
)
from hub.views.patch import patch_partition, patch_summary
from hub.views.publish import GenerationWriter
from hub.views.rules import MissedBenefitRule, OverlapRule, default_rules

Rules = tuple[list[MissedBenefitRule], list[OverlapRule]]

_TEMP_TABLES = (
    "current_batches", "dataset_info", "ledger", "presence", "universe", "dept_attrs",
    "masked", "dept_codes", "code_keys", "code_map", "dept_locations", "unmapped_codes",
    "registry", "fallback_location", "residents", "rule_info", "hints", "overlap_pairs",
    "dept_blocks", "resident_totals", "resident_overlaps", "resident_hints", "resident_views",
    "household_totals", "household_views", "affected", "affected_households", "households_now",
)


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    drop_partition_tables(con)
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()]
    for name in names:
        if name in _TEMP_TABLES or name.startswith("attrs_"):
            con.execute(f'DROP TABLE IF EXISTS temp."{name}"')


def _rule_ids(rules: Rules) -> list[str]:
    return [r.id for r in rules[0]] + [r.id for r in rules[1]]


def _summary(con: duckdb.DuckDBPyConnection, today: date, facts: int,
             dates: dict[str, date | None], rules: Rules) -> dict[str, Any]:
    return {"today": today, "ledger_facts": facts,
            "as_of": {k: v for k, v in dates.items() if k != "today"},
            **fingerprint(con, dates, rules[0], _rule_ids(rules))}


def _partitions(con: duckdb.DuckDBPyConnection, parts: Partitions) -> Iterator[int]:
    """Each partition's number, with its TEMP table `scope` in place."""
    for part in range(parts.count):
        parts.scope(con, part)
        yield part


def publish_all(con: duckdb.DuckDBPyConnection, engine: Engine, keyring: KeyRing, today: date,
                rules: Rules | None = None, per_partition: int = PARTITION_RESIDENTS
                ) -> dict[str, Any]:
    rules = rules or default_rules()
    cipher = VaultCipher(keyring.vault_key)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    facts = rebuild_ledger(con)
    timings["ledger"] = round(time.perf_counter() - t, 3)
    try:
        t = time.perf_counter()
        dates = prepare_views(con, *rules, today)
        parts = stage(con, all_residents_sql(), per_partition=per_partition)
        stage_ledger(con)
        timings["stage"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        writer = GenerationWriter(engine)
        try:
            for part in _partitions(con, parts):
                compute_partition(con, cipher, today, rules, dates, parts.inputs(part))
                writer.add_partition(con)
            result = writer.finish(con, _summary(con, today, facts, dates, rules))
        finally:
            writer.close()
        timings["partitions"] = round(time.perf_counter() - t, 3)
    finally:
        _drop_temp(con)
    return {**result, "mode": "full", "partitions": parts.count, "ledger_facts": facts,
            "timings": timings}


def _publish_plan(con: duckdb.DuckDBPyConnection, engine: Engine, cipher: VaultCipher,
                  today: date, rules: Rules, plan: ChangePlan, dates: dict[str, date | None],
                  per_partition: int) -> dict[str, Any] | str:
    """The incremental publish of `plan`, or the reason to publish in full instead."""
    timings: dict[str, float] = {}
    t = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TEMP TABLE households_now AS {household_sql()}")
    affected = stage_affected(con, engine, plan)
    if affected > FULL_ABOVE * int(plan.published.get("residents") or 0):
        return f"{affected} of {plan.published.get('residents')} residents changed"
    parts = stage(con, "SELECT resident_key FROM affected", "SELECT * FROM households_now",
                  per_partition, scoped=True)
    facts = update_ledger(con, "work", staged_rows,
                          "SELECT * FROM households_now SEMI JOIN work USING (resident_key)")
    stage_ledger(con)
    timings["stage"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    assert plan.generation is not None
    for part in _partitions(con, parts):
        compute_partition(con, cipher, today, rules, dates, parts.inputs(part))
        patch_partition(engine, con, plan.generation, part, parts.count)
    result = patch_summary(engine, con, plan.generation,
                           _summary(con, today, facts, dates, rules))
    timings["partitions"] = round(time.perf_counter() - t, 3)
    return {**result, "mode": "incremental", "partitions": parts.count,
            "residents_republished": affected, "batches_changed": len(plan.added)
            + len(plan.removed), "ledger_facts": facts, "timings": timings}


def publish_changes(con: duckdb.DuckDBPyConnection, engine: Engine, keyring: KeyRing,
                    today: date, rules: Rules | None = None,
                    per_partition: int = PARTITION_RESIDENTS) -> dict[str, Any]:
    """Publish only what changed since the published generation, else everything."""
    rules = rules or default_rules()
    try:
        dates = prepare_views(con, *rules, today)
        now = fingerprint(con, dates, rules[0], _rule_ids(rules))
        plan = plan_changes(con, engine, today, now)
        reason = plan.full_reason
        if reason is None:
            outcome = _publish_plan(con, engine, VaultCipher(keyring.vault_key), today, rules,
                                    plan, dates, per_partition)
            if isinstance(outcome, dict):
                return outcome
            reason = outcome
    finally:
        _drop_temp(con)
    return {**publish_all(con, engine, keyring, today, rules, per_partition),
            "full_reason": reason}
