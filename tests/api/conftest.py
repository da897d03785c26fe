"""The API tests' view of the shared demo district: the served home (tests/conftest.py) with
one token per role, a resident of the street office's street with the cash total of the source
extracts, and a resident of another street. `server` is the shared real `hub serve`."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from catalog.db import create_state_engine
from desensitize.pseudonym import Pseudonymiser
from hub.demo import DemoManifest
from hub.keys.config import load_keyring, load_security_keys
from hub.security.tokens import TokenStore
from hub.settings import HubSettings
from hub.state.migrate import upgrade_state
from hub.views.read import ViewReader
from schemas.identity import normalise_resident_id
from tests.conftest import DemoDistrict
from tests.demo_truth import benefit_rows
from tests.server_kit import Server


@dataclass
class Resident:
    raw_id: str  # as written in the grid extract
    key: str
    street: str
    household_key: str | None
    grid_code: str | None


@dataclass
class District:
    settings: HubSettings
    demo: DemoManifest
    tokens: dict[str, str]  # role name -> bearer token
    mine: Resident  # in the street office's street
    other: Resident  # in another street
    street: str
    cash_in_files: Decimal  # the cash total of `mine` in the source extracts
    needles: dict[str, set[str]] = field(default_factory=dict)  # raw ids, names, phones


def _residents(settings: HubSettings, demo: DemoManifest) -> tuple[pd.DataFrame, dict[str, Any]]:
    grid = pd.read_csv(demo.datasets["grid"].path, dtype=str, encoding="utf-8")
    ids = normalise_resident_id(grid["身份证号"].astype("string"), demo.today).values
    with Pseudonymiser(load_keyring(settings).pseudonym_key) as p:
        grid["resident_key"] = p.pseudonymise(ids, "resident_id")
    needles = {"id": set(grid["身份证号"].dropna()) | set(ids.dropna()),
               "name": {n for n in grid["姓名"].dropna() if len(n) >= 2},
               "phone": set(grid["联系电话"].dropna())}
    return grid, needles


def _fact_count(doc: dict[str, Any]) -> int:
    return sum(len(d["facts"]) for d in doc["departments"])


def _pick(grid: pd.DataFrame, reader: ViewReader, rows: pd.DataFrame
          ) -> tuple[Resident, Resident, Decimal]:
    """A resident whose every benefit row was loaded, with facts from several departments
    (and the cash total of the files), and one resident of another street."""
    per_key = rows.groupby("resident_key").agg(n=("yuan", "size"))
    cash = rows[rows["cash"]].groupby("resident_key")["yuan"].agg(
        lambda s: sum(s.tolist(), Decimal(0)))  # type: ignore[type-var]
    first: Resident | None = None
    expected = Decimal(0)
    for raw, key in zip(grid["身份证号"], grid["resident_key"], strict=True):
        if pd.isna(key) or not isinstance(raw, str) or len(raw) != 18 or not raw[:17].isdigit():
            continue
        doc = reader.resident(str(key))
        if doc is None or not doc["location"]["street_code"]:
            continue
        found = Resident(raw, str(key), doc["location"]["street_code"],
                         doc["household"]["household_key"], doc["location"]["grid_code"])
        if first is None:
            datasets = {d["dataset"] for d in doc["departments"] if d["facts"]}
            complete = key in per_key.index and per_key.at[key, "n"] == _fact_count(doc)
            if len(datasets) >= 2 and doc["location"]["grid_code"] and complete \
                    and key in cash.index:
                first, expected = found, Decimal(str(cash.at[key]))
        elif found.street != first.street:
            return first, found, expected
    raise AssertionError("the demo district has no resident pair in two streets")


@pytest.fixture(scope="session")
def district(demo_district: DemoDistrict, served_home: HubSettings) -> District:
    settings, demo = served_home, demo_district.demo
    engine = create_state_engine(settings.resolved_state_url)
    grid, needles = _residents(settings, demo)
    mine, other, cash = _pick(grid, ViewReader(engine), benefit_rows(settings, demo))
    store = TokenStore(engine, load_security_keys(settings).token_pepper)
    upgrade_state(store.engine)
    tokens = {
        "street_office": store.create("street_office", [mine.street], "street-test")[1],
        "department": store.create("department", ["elderly_care"], "civil-affairs-test")[1],
        "auditor": store.create("auditor", [], "auditor-test")[1],
        "admin": store.create("admin", [], "admin-test")[1],
    }
    engine.dispose()
    return District(settings, demo, tokens, mine, other, mine.street, cash, needles)


@pytest.fixture(scope="session")
def server(hub_server: Server, district: District) -> Server:
    """The shared server, once the API tests' tokens exist."""
    return hub_server
