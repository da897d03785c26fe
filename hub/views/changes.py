"""Which residents a change of the current batches touches, for incremental views.

A published generation records in its summary the current batches it was computed from.
After batches load (or a held snapshot is confirmed or discarded), the batches that became
current or stopped being current hold the residents whose facts changed. Their documents
are recomputed, and so are those of everyone in the households they belong to now or
belonged to when published: household documents, size and groups, and the household rules
(`in_group ... of: household`) read all members. Overlap rules read one resident's facts.

A full publish is needed instead when something every document depends on moved: the day,
the rule set, a reference date a rule reads (a dataset's latest as-of), the crosswalk; or
when there is nothing to compare with, or most residents changed anyway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import Engine, select

from hub.views.publish import CURRENT, current_generation
from hub.views.rules import Condition, MissedBenefitRule
from hub.views.store import view_households, view_residents, view_state
from hub.warehouse.crosswalk import current_version
from schemas.registry import source_contracts

_CHUNK = 500  # keys per IN list: well under SQLite's and PostgreSQL's parameter limits
FULL_ABOVE = 0.5  # share of the residents changed beyond which a full publish is cheaper


@dataclass
class ChangePlan:
    full_reason: str | None  # why a full publish is needed; None: publish the changes only
    generation: int | None = None
    published: dict[str, Any] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    linkage_changed: bool = False  # a row was linked to a resident, or unlinked, since


def _condition_dates(c: Condition) -> set[str]:
    found = {x.at for x in (c.age_at_least, c.days_since, c.has_program, c.lacks_program)
             if x is not None}
    if c.alive_on:
        found.add(c.alive_on)
    for nested in c.any_of or []:
        found |= _condition_dates(nested)
    return found


def rule_dates(missed: list[MissedBenefitRule]) -> set[str]:
    """Datasets whose latest as-of date some rule evaluates at ('today' aside)."""
    return {d for r in missed for c in r.when for d in _condition_dates(c)} - {"today"}


def current_batch_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Batch ids of TEMP table current_batches, sorted."""
    return [r[0] for r in con.execute(
        "SELECT batch_id FROM current_batches ORDER BY batch_id").fetchall()]


def fingerprint(con: duckdb.DuckDBPyConnection, dates: dict[str, date | None],
                missed: list[MissedBenefitRule], rule_ids: list[str]) -> dict[str, Any]:
    """What a publish records so the next one can tell what changed since."""
    return {"batches": current_batch_ids(con), "crosswalk_version": current_version(con),
            "rule_dates": {d: str(dates.get(d)) for d in sorted(rule_dates(missed))},
            "rules": rule_ids, "linked": linked_digest(con)}


def linked_digest(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of the rows linked by a match or a reviewer (hub.pipeline.linkage): they
    carry no resident key in their batch, so a new link shows only here."""
    row = con.execute("""SELECT coalesce(md5(string_agg(
            batch_id || ':' || source_row || ':' || resident_key || ':' || coalesce(method, ''),
            ',' ORDER BY batch_id, source_row)), '')
        FROM linkage.decisions WHERE decision = 'linked'""").fetchall()
    return str(row[0][0]) if row else ""


def plan_changes(con: duckdb.DuckDBPyConnection, engine: Engine, today: date,
                 now: dict[str, Any]) -> ChangePlan:
    """Compare the published generation's fingerprint with `now` (see `fingerprint`)."""
    with engine.connect() as conn:
        generation = current_generation(conn)
        raw = conn.execute(select(view_state.c.summary).where(
            view_state.c.name == CURRENT)).scalar() if generation else None
    if generation is None or raw is None:
        return ChangePlan("nothing published yet")
    published = json.loads(raw)
    if "batches" not in published:
        return ChangePlan("the published views record no batches", generation)
    if published.get("today") != today.isoformat():
        return ChangePlan("the day changed", generation)
    for name in ("rules", "crosswalk_version", "rule_dates"):
        if published.get(name) != now[name]:
            return ChangePlan(f"{name.replace('_', ' ')} changed", generation)
    before, after = set(published["batches"]), set(now["batches"])
    return ChangePlan(None, generation, published, sorted(after - before),
                      sorted(before - after), published.get("linked") != now["linked"])


def _published_households(engine: Engine, generation: int, residents: list[str]) -> set[str]:
    """The household keys the published `residents` had."""
    out: set[str] = set()
    t = view_residents
    with engine.connect() as conn:
        for i in range(0, len(residents), _CHUNK):
            rows = conn.execute(select(t.c.household_key).where(
                t.c.generation == generation, t.c.resident_key.in_(residents[i:i + _CHUNK])))
            out.update(r.household_key for r in rows if r.household_key)
    return out


def _published_members(engine: Engine, generation: int, households: list[str]) -> list[str]:
    """The resident keys of the published members of `households`, from their documents:
    a generation's household document lists every resident it publishes with that
    household key (both are written in one partition, and patched in one transaction)."""
    out: list[str] = []
    t = view_households
    with engine.connect() as conn:
        for i in range(0, len(households), _CHUNK):
            rows = conn.execute(select(t.c.document).where(
                t.c.generation == generation, t.c.household_key.in_(households[i:i + _CHUNK])))
            out.extend(m["resident_key"] for r in rows
                       for m in json.loads(r.document)["members"])
    return out


def _key_table(con: duckdb.DuckDBPyConnection, name: str, column: str,
               values: list[str]) -> None:
    frame = pd.DataFrame({column: pd.Series(values, dtype="string")})
    con.register(f"{name}_df", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_df")
    con.unregister(f"{name}_df")


def stage_affected(con: duckdb.DuckDBPyConnection, engine: Engine, plan: ChangePlan) -> int:
    """TEMP tables `affected(resident_key)` (whole households) and `affected_households`
    (household_key: now or when published), from TEMP table `households_now` (the
    registry's households); returns the number of affected residents."""
    batches = plan.added + plan.removed
    _key_table(con, "changed_batches", "batch_id", batches)
    union = " UNION ".join(
        f'SELECT resident_key FROM curated."{name}" SEMI JOIN changed_batches USING (batch_id)'
        for name in source_contracts())
    # Matched rows name their resident in the decisions only: those of the changed batches,
    # and every linked resident when the links changed (a few per thousand rows).
    linked = "" if plan.linkage_changed else "SEMI JOIN changed_batches USING (batch_id)"
    union += (f" UNION SELECT resident_key FROM linkage.decisions {linked} "
              "WHERE decision = 'linked'")
    con.execute(f"CREATE OR REPLACE TEMP TABLE changed AS SELECT DISTINCT resident_key "
                f"FROM ({union}) WHERE resident_key IS NOT NULL")
    changed = [r[0] for r in con.execute("SELECT resident_key FROM changed").fetchall()]
    assert plan.generation is not None
    households = _published_households(engine, plan.generation, changed)
    households |= {r[0] for r in con.execute(
        "SELECT household_key FROM households_now SEMI JOIN changed USING (resident_key) "
        "WHERE household_key IS NOT NULL").fetchall()}
    members = _published_members(engine, plan.generation, sorted(households))
    _key_table(con, "affected_households", "household_key", sorted(households))
    _key_table(con, "published_members", "resident_key", members)
    con.execute("""CREATE OR REPLACE TEMP TABLE affected AS
        SELECT resident_key FROM changed
        UNION SELECT resident_key FROM published_members
        UNION SELECT resident_key FROM households_now
              SEMI JOIN affected_households USING (household_key)""")
    for name in ("changed_batches", "changed", "published_members"):
        con.execute(f"DROP TABLE temp.{name}")
    row = con.execute("SELECT count(*) FROM affected").fetchone()
    return int(row[0]) if row else 0
