"""One small demo district with three planted cross-department conflicts, ingested once.

The demo itself produces living-alone conflicts; a phone conflict (employment vs grid), a
benefit after death (elderly care vs grid) and a community conflict (elderly care's community
code vs the registry) are planted here by editing copies of the extracts the way a
department's error would look, then everything goes through the real PipelineWorker.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from quality_kit import NEW_PHONE, ORDER, TODAY, Loaded, Planted

from desensitize.pseudonym import Pseudonymiser
from hub.demo import DemoManifest, generate_demo
from hub.keys.config import init_keys, load_keyring
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings


def _plant(demo: DemoManifest) -> Planted:
    grid_path, elderly_path = demo.datasets["grid"].path, demo.datasets["elderly_care"].path
    grid = pd.read_csv(grid_path, dtype=str, keep_default_na=False, encoding="utf-8")
    elderly = pd.read_csv(elderly_path, dtype=str, keep_default_na=False, encoding="gbk")
    jobs_path = demo.datasets["employment"].path
    jobs = [json.loads(line) for line in jobs_path.read_text(encoding="utf-8").splitlines()]
    clean = grid[grid["身份证号"].str.fullmatch(r"\d{17}[\dX]") & ~grid["身份证号"].duplicated(
        keep=False) & (grid["死亡日期"] == "")]
    phones = dict(zip(clean["身份证号"], clean["联系电话"], strict=True))

    phone_id = next(j["zjhm"] for j in jobs
                    if j.get("lxdh") and phones.get(j["zjhm"]) == j["lxdh"])
    for j in jobs:
        if j["zjhm"] == phone_id:
            j["lxdh"] = NEW_PHONE
    jobs_path.write_text("".join(json.dumps(j, ensure_ascii=False) + "\n" for j in jobs),
                         encoding="utf-8")

    in_grid = elderly[elderly["身份证号"].isin(phones) & (elderly["身份证号"] != phone_id)]
    people = list(dict.fromkeys(in_grid["身份证号"]))
    death_id, community_id = people[0], people[1]
    as_of = date.fromisoformat(demo.datasets["elderly_care"].as_of.isoformat())
    grid.loc[grid["身份证号"] == death_id, "死亡日期"] = (as_of - timedelta(days=500)).isoformat()
    grid.to_csv(grid_path, index=False, encoding="utf-8")
    codes = sorted(set(elderly["社区编码"]) - {"MZ90001", "MZ90007", "MZ90012"})
    mine = elderly.loc[elderly["身份证号"] == community_id, "社区编码"].iloc[0]
    other = next(c for c in codes if c != mine)
    elderly.loc[elderly["身份证号"] == community_id, "社区编码"] = other
    elderly.to_csv(elderly_path, index=False, encoding="gbk", lineterminator="\r\n")
    return Planted(phone_id, death_id, community_id)


@pytest.fixture(scope="session")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    root = tmp_path_factory.mktemp("quality")
    demo = generate_demo(root / "district", residents=2_000, seed=3, today=TODAY)
    planted = _plant(demo)
    settings = HubSettings(home=root / "hub-home", chunk_rows=1_000)
    init_keys(settings)
    with PipelineWorker(settings) as worker:
        worker.load_crosswalk(demo.crosswalk)
        for name in ORDER:
            extract = demo.datasets[name]
            result = worker.ingest(Path(extract.source_yaml), Path(extract.path))
            assert result.outcome == "loaded", result.reason
    ring = load_keyring(settings)
    ids = [planted.phone_id, planted.death_id, planted.community_id]
    with Pseudonymiser(ring.pseudonym_key) as pseudonyms:
        keys = pseudonyms.pseudonymise(pd.Series(ids, dtype="string"), domain="resident_id")
    return Loaded(settings, demo, planted, dict(zip(ids, keys.astype(str), strict=True)))
