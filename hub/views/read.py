"""Read interface of the published views for the API: state store only, never the warehouse.

Every method resolves the current generation first and reads only its rows (see
hub.views.store). Documents come back as dicts exactly as published; the caller (the API)
applies role-based field visibility, e.g. drops `restricted` for a street office.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from desensitize.pseudonym import Pseudonymiser
from hub.views.publish import current_generation
from hub.views.store import view_households, view_residents, view_unmapped_codes
from schemas.identity import normalise_resident_id

RESIDENT_ID_DOMAIN = "resident_id"  # the contracts' ID column: the pipeline's pseudonym domain
MAX_PAGE = 500


def resident_key_for_id_number(raw_id: str, pseudonymiser: Pseudonymiser,
                               today: date | None = None) -> str | None:
    """The resident key of an ID number as typed (cleaned like the pipeline cleans it), or
    None when it is not a valid ID. The raw value is never logged or returned."""
    result = normalise_resident_id(pd.Series([raw_id], dtype="string"), today or date.today())
    value = result.values.iloc[0]
    if not bool(result.ok.iloc[0]) or value is pd.NA:
        return None
    key = pseudonymiser.pseudonymise(pd.Series([value], dtype="string"),
                                     RESIDENT_ID_DOMAIN).iloc[0]
    return None if key is pd.NA else str(key)


class ViewReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _generation(self, conn: Connection) -> int | None:
        try:
            return current_generation(conn)
        except (OperationalError, ProgrammingError):  # no view table yet: nothing published
            conn.rollback()
            return None

    def resident(self, resident_key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            gen = self._generation(conn)
            if gen is None:
                return None
            doc = conn.execute(select(view_residents.c.document).where(
                view_residents.c.generation == gen,
                view_residents.c.resident_key == resident_key)).scalar()
        return json.loads(doc) if doc is not None else None

    def household(self, household_key: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            gen = self._generation(conn)
            if gen is None:
                return None
            doc = conn.execute(select(view_households.c.document).where(
                view_households.c.generation == gen,
                view_households.c.household_key == household_key)).scalar()
        return json.loads(doc) if doc is not None else None

    def grid_residents(self, grid_code: str, *, special_group: str | None = None,
                       has_overlap: bool | None = None, has_missed_benefit: bool | None = None,
                       offset: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
        """One page of a grid's residents (ordered by resident key) and the total count."""
        limit = max(0, min(limit, MAX_PAGE))
        offset = max(0, offset)
        t = view_residents
        with self.engine.connect() as conn:
            gen = self._generation(conn)
            if gen is None:
                return [], 0
            where = [t.c.generation == gen, t.c.grid_code == grid_code]
            if special_group is not None:
                escaped = special_group.replace("\\", "\\\\").replace("%", "\\%")
                escaped = escaped.replace("_", "\\_")
                where.append(t.c.special_groups.like(f"%;{escaped};%", escape="\\"))
            if has_overlap is not None:
                where.append(t.c.has_overlap == has_overlap)
            if has_missed_benefit is not None:
                where.append(t.c.has_missed_benefit == has_missed_benefit)
            total = conn.execute(select(func.count()).select_from(t).where(*where)).scalar()
            rows = conn.execute(
                select(t.c.resident_key, t.c.household_key, t.c.masked_name, t.c.age_band,
                       t.c.special_groups, t.c.has_overlap, t.c.has_missed_benefit)
                .where(*where).order_by(t.c.resident_key).offset(offset).limit(limit))
            items = [{
                "resident_key": r.resident_key, "household_key": r.household_key,
                "name": r.masked_name, "age_band": r.age_band,
                "special_groups": [g for g in r.special_groups.split(";") if g],
                "has_overlap": bool(r.has_overlap),
                "has_missed_benefit": bool(r.has_missed_benefit),
            } for r in rows]
        return items, int(total or 0)

    def unmapped_codes(self) -> list[dict[str, Any]]:
        """Department grid codes the crosswalk does not map, with row and resident counts."""
        t = view_unmapped_codes
        with self.engine.connect() as conn:
            gen = self._generation(conn)
            if gen is None:
                return []
            rows = conn.execute(select(t.c.dataset, t.c.scheme, t.c.code, t.c.rows,
                                       t.c.residents).where(t.c.generation == gen)
                                .order_by(t.c.dataset, t.c.scheme, t.c.code))
            return [dict(r._mapping) for r in rows]
