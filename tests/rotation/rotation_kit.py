"""What the rotation drills compare: published documents, ledger rows, vault entries, and the
old -> new key maps derived independently from the demo's own ID numbers and both keys."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import select

from catalog.db import create_state_engine
from desensitize.pseudonym import Pseudonymiser
from hub.demo import DemoManifest
from hub.settings import HubSettings
from hub.views.publish import current_generation
from hub.views.store import view_households, view_residents
from schemas.identity import normalise_resident_id

_KEY = re.compile(r"\b[0-9a-f]{32}\b")


def read_key(settings: HubSettings, name: str) -> bytes:
    return bytes.fromhex((settings.keys_dir / name).read_text("ascii").strip())


def documents(settings: HubSettings) -> tuple[dict[str, str], dict[str, str]]:
    """The current generation's resident and household documents (JSON text) by key."""
    engine = create_state_engine(settings.resolved_state_url)
    try:
        with engine.connect() as conn:
            gen = current_generation(conn)
            residents = {r[0]: r[1] for r in conn.execute(
                select(view_residents.c.resident_key, view_residents.c.document)
                .where(view_residents.c.generation == gen))}
            households = {r[0]: r[1] for r in conn.execute(
                select(view_households.c.household_key, view_households.c.document)
                .where(view_households.c.generation == gen))}
    finally:
        engine.dispose()
    return residents, households


def query(settings: HubSettings, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True,
                         config={"autoinstall_known_extensions": False})
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def raw_identifiers(demo: DemoManifest) -> tuple[pd.Series, pd.Series]:
    """Every normalised ID number of the four extracts, and the registry's household ids."""
    d = demo.datasets
    grid = pd.read_csv(d["grid"].path, dtype=str, encoding="utf-8")
    raw = pd.concat([
        grid["身份证号"],
        pd.read_csv(d["elderly_care"].path, encoding="gbk", dtype=str)["身份证号"],
        pd.read_excel(d["medical"].path, dtype=object)["身份证号"].astype(str),
        pd.read_json(d["employment"].path, lines=True, dtype=False)["zjhm"].astype(str),
    ], ignore_index=True).astype("string")
    ids = normalise_resident_id(raw, demo.today).values.dropna().drop_duplicates()
    households = grid["户编号"].dropna().str.strip().drop_duplicates().astype("string")
    return ids, households


def key_map(demo: DemoManifest, old_key: bytes, new_key: bytes) -> dict[str, str]:
    """old -> new resident and household keys, from the raw IDs and the two pseudonym keys."""
    ids, households = raw_identifiers(demo)
    mapping: dict[str, str] = {}
    with Pseudonymiser(old_key) as old, Pseudonymiser(new_key) as new:
        for values, domain in ((ids, "resident_id"), (households, "household_id")):
            mapping.update(zip(old.pseudonymise(values, domain).tolist(),
                               new.pseudonymise(values, domain).tolist(), strict=True))
    return mapping


def substitute(text: str, mapping: dict[str, str]) -> str:
    """Every 32-hex key in `text` replaced by its new key (a key not in the map is kept)."""
    return _KEY.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


def household_normal_form(text: str) -> Any:
    """A household document with its members in a fixed order: after a rotation the
    non-head members, listed by resident key, come in the order of their new keys."""
    doc = json.loads(text)
    doc["members"] = sorted(doc["members"], key=lambda m: json.dumps(m, sort_keys=True))
    return doc


def copy_settings(home: Path) -> HubSettings:
    return HubSettings(home=home, chunk_rows=1_000, quality_checks=False)
