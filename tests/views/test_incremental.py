"""Incremental and partitioned publishing give the same documents as one full publish.

After a delta upload the worker republishes only the residents and households it changed
(hub.views.changes); `hub views rebuild` recomputes everything. Both are compared document by
document, residents, households and unmapped codes, after a change that moves a resident
to another household, puts a household in a special group and changes benefit amounts.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from typer.testing import CliRunner

from catalog.db import create_state_engine
from desensitize.pseudonym import Pseudonymiser
from hub.cli.main import app
from hub.keys.config import load_keyring
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from hub.views.publish import current_generation
from hub.views.read import resident_key_for_id_number
from hub.views.store import view_households, view_residents, view_unmapped_codes
from tests.views.conftest import Published


def _published(settings: HubSettings) -> tuple[int | None, dict[str, Any]]:
    engine = create_state_engine(settings.resolved_state_url)
    try:
        with engine.connect() as conn:
            gen = current_generation(conn)
            docs: dict[str, Any] = {}
            for table, key in ((view_residents, "resident_key"),
                               (view_households, "household_key")):
                rows = conn.execute(select(table.c[key], table.c.document)
                                    .where(table.c.generation == gen))
                docs[table.name] = {r[0]: json.loads(r[1]) for r in rows}
            u = view_unmapped_codes.c
            docs["unmapped"] = sorted(tuple(r) for r in conn.execute(
                select(u.dataset, u.scheme, u.code, u.rows, u.residents)
                .where(u.generation == gen)))
    finally:
        engine.dispose()
    return gen, docs


def _grid_delta(published: Published, path: Path) -> str:
    """A resident moved to another household, and a household head newly on subsistence
    allowance; returns the ID number of the one who moved."""
    grid = pd.read_csv(published.demo.datasets["grid"].path, dtype=str, keep_default_na=False)
    sizes = grid["户编号"].value_counts()
    big = [h for h in sizes.index if sizes[h] >= 3 and h][:3]
    mover = grid[(grid["户编号"] == big[0]) & (grid["与户主关系"] != "户主")].iloc[[0]].copy()
    mover["户编号"], mover["与户主关系"] = big[1], "其他"
    head = grid[(grid["户编号"] == big[2]) & (grid["与户主关系"] == "户主")].iloc[[0]].copy()
    head["特殊人群"] = "低保"
    pd.concat([mover, head]).to_csv(path, index=False, encoding="utf-8")
    return str(mover["身份证号"].iloc[0])


def _elderly_delta(published: Published, path: Path) -> None:
    """Forty elderly-care rows whose amounts the department corrected upwards."""
    source = published.demo.datasets["elderly_care"].path
    rows = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="gbk")
    rows = rows[rows["金额（元）"].str.fullmatch(r"\d+\.\d\d")].iloc[::40].head(40).copy()
    rows["金额（元）"] = (rows["金额（元）"].astype(float) + 10).map("{:.2f}".format)
    rows.to_csv(path, index=False, encoding="gbk")


def test_incremental_publish_equals_a_full_rebuild(published: Published,
                                                   own_home: HubSettings,
                                                   tmp_path: Path) -> None:
    day = date.today()
    mover_id = _grid_delta(published, tmp_path / "grid_delta.csv")
    _elderly_delta(published, tmp_path / "elderly_care_delta.csv")
    with PipelineWorker(own_home) as worker:
        first = worker.publish_changes(today=day)
        for name in ("grid", "elderly_care"):
            result = worker.ingest(Path(published.demo.datasets[name].source_yaml),
                                   tmp_path / f"{name}_delta.csv", mode="delta")
            assert result.outcome == "loaded", result.reason
        changes = worker.publish_changes(today=day)
    assert first["mode"] == "full"  # the fixture published another day: every age may move
    assert changes["mode"] == "incremental"
    assert 0 < changes["residents_republished"] < changes["residents"] // 10
    generation, incremental = _published(own_home)
    assert generation == first["generation"]
    with Pseudonymiser(load_keyring(own_home).pseudonym_key) as p:
        mover = resident_key_for_id_number(mover_id, p)
    assert mover is not None
    _, before = _published(published.settings)
    moved_from = before["view_residents"][mover]["household"]["household_key"]
    moved_to = incremental["view_residents"][mover]["household"]["household_key"]
    assert moved_from != moved_to
    households = incremental["view_households"]
    assert mover not in {m["resident_key"] for m in households[moved_from]["members"]}
    assert mover in {m["resident_key"] for m in households[moved_to]["members"]}

    env = {"HUB_HOME": str(own_home.home), "HUB_QUALITY_CHECKS": "false"}
    run = CliRunner().invoke(app, ["views", "rebuild", "--json"], env=env)
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["generation"] > generation
    rebuilt_generation, rebuilt = _published(own_home)
    assert rebuilt_generation > generation
    for part in ("view_residents", "view_households"):
        assert incremental[part].keys() == rebuilt[part].keys()
        differing = [k for k in rebuilt[part] if incremental[part][k] != rebuilt[part][k]]
        assert not differing, (part, len(differing))
    assert incremental["unmapped"] == rebuilt["unmapped"]


def test_partitions_give_the_documents_of_one_pass(published: Published,
                                                   own_home: HubSettings) -> None:
    _, whole = _published(own_home)
    with PipelineWorker(own_home) as worker:
        split = worker.publish(today=date.fromisoformat(
            next(iter(whole["view_residents"].values()))["today"]), per_partition=400)
    assert split["partitions"] >= 4
    _, parts = _published(own_home)
    assert parts == whole


def test_a_home_with_the_registry_and_one_department_publishes(published: Published,
                                                               settings: HubSettings) -> None:
    # Rules read the as-of dates of elderly care and employment, which have no batch here.
    with PipelineWorker(settings) as worker:
        for name in ("grid", "medical"):
            extract = published.demo.datasets[name]
            assert worker.ingest(Path(extract.source_yaml), Path(extract.path)
                                 ).outcome == "loaded"
        result = worker.publish(today=date(2026, 11, 1))
    _, docs = _published(settings)
    assert result["residents"] == len(docs["view_residents"]) > 0
    datasets = {b["dataset"] for d in docs["view_residents"].values() for b in d["departments"]}
    assert datasets == {"grid", "medical"}
    hints = {h["rule_id"] for d in docs["view_residents"].values()
             for h in d["missed_benefits"]}
    assert "aged_80_without_age_allowance" not in hints
