"""What the demo's source extracts say, read from the files independently of the pipeline.

Tests compare the hub's ledger and views against these figures.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

from desensitize.pseudonym import Pseudonymiser
from hub.demo import DemoManifest
from hub.keys.config import load_keyring
from hub.settings import HubSettings
from schemas.identity import normalise_resident_id


def _fen(value: Any) -> Decimal:
    return Decimal(int(value)) / 100 if pd.notna(value) else Decimal(0)


def resident_keys(settings: HubSettings, raw_ids: pd.Series, today: Any) -> pd.Series:
    """The resident key the hub gives each raw ID number (<NA> where it rejects the ID)."""
    ids = normalise_resident_id(raw_ids.astype("string"), today).values
    with Pseudonymiser(load_keyring(settings).pseudonym_key) as p:
        return p.pseudonymise(ids, "resident_id")


def benefit_rows(settings: HubSettings, demo: DemoManifest) -> pd.DataFrame:
    """(resident_key, cash, yuan) per benefit row of the three benefit extracts (outpatient
    visits and 'no programme' rows are not benefits); rows whose ID cannot be read are left
    out, as the hub quarantines them."""
    d = demo.datasets
    elderly = pd.read_csv(d["elderly_care"].path, encoding="gbk", dtype=str)
    medical = pd.read_excel(d["medical"].path, dtype=object)
    employment = pd.read_json(d["employment"].path, lines=True, dtype=False)
    frames = [
        pd.DataFrame({"id": elderly["身份证号"], "cash": elderly["救助形式"] == "现金",
                      "yuan": elderly["金额（元）"].map(Decimal)}),
        pd.DataFrame({"id": medical["身份证号"].astype(str), "cash": medical["救助形式"] == "现金",
                      "yuan": medical["金额（分）"].map(_fen),
                      "benefit": medical["业务类型"] != "门诊"}),
        pd.DataFrame({"id": employment["zjhm"].astype(str), "cash": employment["jzxs"] == "现金",
                      "yuan": employment["je_fen"].map(_fen),
                      "benefit": employment["xmlb"] != "无"}),
    ]
    rows = pd.concat(frames, ignore_index=True)
    rows["benefit"] = rows["benefit"].fillna(True).astype(bool)
    rows["resident_key"] = resident_keys(settings, rows["id"], demo.today)
    return rows[rows["benefit"] & rows["resident_key"].notna()]
