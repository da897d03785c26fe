"""One publish: rebuild the ledger, compute the views, publish them (called by the worker)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import duckdb
from sqlalchemy import Engine

from desensitize.keys import KeyRing
from desensitize.vault import VaultCipher
from hub.ledger.build import rebuild_ledger
from hub.views.compute import compute_views
from hub.views.publish import publish_views
from hub.views.rules import MissedBenefitRule, OverlapRule, default_rules

_TEMP_TABLES = (
    "current_batches", "dataset_info", "ledger", "presence", "universe", "dept_attrs",
    "masked", "dept_codes", "code_keys", "code_map", "dept_locations", "unmapped_codes",
    "registry", "fallback_location", "residents", "rule_info", "hints", "overlap_pairs",
    "dept_blocks", "resident_totals", "resident_overlaps", "resident_hints", "resident_views",
    "household_totals", "household_views",
)


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()]
    for name in names:
        if name in _TEMP_TABLES or name.startswith("attrs_"):
            con.execute(f'DROP TABLE IF EXISTS temp."{name}"')


def publish_all(con: duckdb.DuckDBPyConnection, engine: Engine, keyring: KeyRing, today: date,
                rules: tuple[list[MissedBenefitRule], list[OverlapRule]] | None = None
                ) -> dict[str, Any]:
    missed, overlaps = rules or default_rules()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    facts = rebuild_ledger(con)
    timings["ledger"] = round(time.perf_counter() - t, 3)
    try:
        t = time.perf_counter()
        computed = compute_views(con, VaultCipher(keyring.vault_key), today, missed, overlaps)
        timings["compute"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        summary = {"today": today, "ledger_facts": facts,
                   "as_of": {k: v for k, v in computed.dates.items() if k != "today"},
                   "rules": [r.id for r in missed] + [r.id for r in overlaps]}
        result = publish_views(engine, con, summary)
        timings["publish"] = round(time.perf_counter() - t, 3)
    finally:
        _drop_temp(con)
    return {**result, "ledger_facts": facts, "timings": timings}
