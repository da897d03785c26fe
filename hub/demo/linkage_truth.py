"""Known truth for measuring the linkage: a registry from the demo population, and department
records copied from it with planted typing errors, each remembering the resident it belongs
to, plus people the registry does not hold."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hub.demo import record_errors as errors
from hub.demo.population import build_population

# Share of planted records with a second error, and of each field a department leaves empty.
SECOND_ERROR = 0.3
MISSING = {"address": 0.4, "phone": 0.6, "community_code": 0.2, "grid_code": 0.5}
KINDS = ("exact", "homophone", "similar_shape", "traditional", "dropped_or_added",
         "month_day_swapped", "one_digit_wrong", "lunar_slip", "address_rewritten")


@dataclass
class Planted:
    registry: pd.DataFrame  # unique_id = "r<index>"
    candidates: pd.DataFrame  # unique_id = "c<n>", truth = registry unique_id or None
    kinds: list[str]


def registry_frame(residents: int, seed: int) -> pd.DataFrame:
    pop = build_population(residents, seed, np.datetime64("2026-11-30"))
    community = pop.district.community_codes.to_pylist()
    grids = pop.district.grid_codes.to_pylist()
    address = pop.address.to_pylist()
    return pd.DataFrame({
        "unique_id": [f"r{i}" for i in range(pop.size)],
        "name": pop.name.to_pylist(),
        "gender": np.where(pop.male, "M", "F"),
        "birth_date": pd.to_datetime(pop.birth).strftime("%Y-%m-%d"),
        "address": [address[h] for h in pop.household],
        "phone": pop.phone.to_pylist(),
        "community_code": [community[c] for c in pop.community],
        "grid_code": [grids[g] for g in pop.grid],
        "household_key": [f"h{seed}-{h}" for h in pop.household],
    })


def plant(registry: pd.DataFrame, count: int, seed: int, outsiders: pd.DataFrame) -> Planted:
    """`count` records copied from the registry, each with one planted error (or none; some
    with a second one), fields missing as departments leave them, plus every row of
    `outsiders` (people the registry does not hold)."""
    rng = np.random.default_rng(seed)
    pool = sorted({c for n in registry["name"] for c in n[1:]})
    rows, kinds = [], []
    for i, idx in enumerate(rng.choice(len(registry), size=count, replace=False)):
        row: dict[str, Any] = {str(k): v for k, v in registry.iloc[int(idx)].items()}
        kind = KINDS[i % len(KINDS)]
        row = _apply(kind, row, rng, pool) or row
        if kind != "exact" and rng.random() < SECOND_ERROR:
            row = _apply(KINDS[int(rng.integers(1, len(KINDS)))], row, rng, pool) or row
        row["truth"], row["unique_id"] = row["unique_id"], f"c{i}"
        # A department record carries fewer contact and place fields than the registry.
        for field, share in MISSING.items():
            if rng.random() < share:
                row[field] = None
        rows.append(row)
        kinds.append(kind)
    strangers = outsiders.assign(truth=None, unique_id=[f"x{i}" for i in range(len(outsiders))])
    candidates = pd.concat([pd.DataFrame(rows), strangers], ignore_index=True)
    return Planted(registry=registry, candidates=candidates,
                   kinds=kinds + ["outsider"] * len(outsiders))


def _apply(kind: str, row: dict[str, Any], rng: np.random.Generator,
           pool: list[str]) -> dict[str, Any] | None:
    born = dt.date.fromisoformat(row["birth_date"])
    changed: object = None
    if kind == "homophone":
        changed = errors.homophone(row["name"], rng, pool)
        field = "name"
    elif kind == "similar_shape":
        changed = errors.similar_shape(row["name"], rng)
        field = "name"
    elif kind == "traditional":
        changed, field = errors.traditional(row["name"]), "name"
    elif kind == "dropped_or_added":
        changed, field = errors.dropped_or_added(row["name"], rng, pool), "name"
    elif kind in ("month_day_swapped", "one_digit_wrong", "lunar_slip"):
        new = {"month_day_swapped": lambda: errors.month_day_swapped(born),
               "one_digit_wrong": lambda: errors.one_digit_wrong(born, rng),
               "lunar_slip": lambda: errors.lunar_slip(born, rng)}[kind]()
        changed, field = (new.isoformat() if new else None), "birth_date"
    elif kind == "address_rewritten":
        changed, field = errors.address_rewritten(row["address"], rng), "address"
    else:
        return None
    return {**row, field: changed} if changed else None
