"""Published views on both databases: a generation is written, flipped and read back as
published; the generations before the previous one are removed, with the rows of a publish
that died before its flip."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pytest
from sqlalchemy import Engine, func, insert, select

from hub.api.lookup import ResidentDocuments
from hub.views import publish
from hub.views.publish import publish_views
from hub.views.read import ViewReader
from hub.views.store import view_households, view_residents


def _computed(version: int) -> duckdb.DuckDBPyConnection:
    """The three TEMP tables publish_views reads, as hub.views.compute leaves them."""
    con = duckdb.connect()
    con.execute("""
        CREATE TEMP TABLE resident_views AS SELECT * FROM (VALUES
          ('rk1', 'hh1', '110105001', '110105001001', '110105001001001', ['dibao', 'veteran'],
           true, false, '张*', '60-64', {'v': $v, 'name': '张*'}::JSON),
          ('rk2', 'hh1', '110105001', '110105001001', '110105001001001', [],
           false, true, NULL, '00-04', {'v': $v}::JSON)
        ) t(resident_key, household_key, street_code, community_code, grid_code,
            special_groups, has_overlap, has_missed_benefit, masked_name, age_band, document)
    """, {"v": version})
    con.execute("CREATE TEMP TABLE household_views AS SELECT 'hh1' AS household_key, "
                "'110105001' AS street_code, {'members': 2}::JSON AS document")
    con.execute("CREATE TEMP TABLE unmapped_codes AS SELECT 'medical' AS dataset, "
                "'hospital' AS scheme, 'X9' AS code, 3::BIGINT AS rows, 2::BIGINT AS residents")
    return con


def test_generations_publish_and_read_back(engine: Engine) -> None:
    reader, documents = ViewReader(engine), ResidentDocuments(engine)
    assert reader.resident("rk1") is None  # nothing published yet
    assert documents.text("rk1") is None
    for version in (1, 2, 3):
        summary = publish_views(engine, _computed(version), {"today": "2026-06-01"})
        assert summary == {"generation": version, "residents": 2, "households": 1,
                           "unmapped_codes": 1}
    assert reader.resident("rk1") == {"v": 3, "name": "张*"}
    assert json.loads(documents.text("rk2") or "") == {"v": 3}
    assert reader.household("hh1") == {"members": 2}
    with engine.connect() as conn:  # the street column is what jurisdiction checks read
        street = conn.execute(select(view_residents.c.street_code).where(
            view_residents.c.resident_key == "rk2", view_residents.c.generation == 3)).scalar()
    assert street == "110105001"
    items, total = reader.grid_residents("110105001001001", special_group="dibao")
    assert total == 1
    assert items == [{"resident_key": "rk1", "household_key": "hh1", "name": "张*",
                      "age_band": "60-64", "special_groups": ["dibao", "veteran"],
                      "has_overlap": True, "has_missed_benefit": False}]
    assert reader.grid_residents("110105001001001", has_missed_benefit=True)[1] == 1
    assert reader.unmapped_codes() == [{"dataset": "medical", "scheme": "hospital",
                                        "code": "X9", "rows": 3, "residents": 2}]
    with engine.connect() as conn:  # the current and the previous generation only
        kept = conn.execute(select(view_residents.c.generation, func.count())
                            .group_by(view_residents.c.generation)
                            .order_by(view_residents.c.generation)).all()
    assert [tuple(r) for r in kept] == [(2, 2), (3, 2)]


def _generations(engine: Engine) -> dict[str, list[tuple[int, int]]]:
    """(generation, rows) per generation table."""
    with engine.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(
            select(t.c.generation, func.count()).group_by(t.c.generation)
            .order_by(t.c.generation))] for t in (view_residents, view_households)}


def test_old_and_leftover_generations_are_removed_range_by_range(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "BATCH_ROWS", 1)  # every row its own range
    for version in (1, 2):
        publish_views(engine, _computed(version), {"today": "2026-06-01"})
    with engine.begin() as conn:  # a publish of generation 3 that died before its flip
        conn.execute(insert(view_residents), [{
            "generation": 3, "resident_key": f"dead{i}", "household_key": "hh9",
            "special_groups": "", "has_overlap": False, "has_missed_benefit": False,
            "document": "{}", "updated_at": datetime.now(UTC)}
            for i in range(3)])
    # The next publish takes the number after them; they go with the generations before it.
    assert publish_views(engine, _computed(3), {})["generation"] == 4
    assert _generations(engine) == {"view_residents": [(2, 2), (3, 3), (4, 2)],
                                    "view_households": [(2, 1), (4, 1)]}
    publish_views(engine, _computed(5), {})
    assert _generations(engine) == {"view_residents": [(4, 2), (5, 2)],
                                    "view_households": [(4, 1), (5, 1)]}
    assert ViewReader(engine).resident("rk1") == {"v": 5, "name": "张*"}
