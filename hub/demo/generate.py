"""generate_demo: the synthetic district, its four department extracts, crosswalk and manifest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from hub.demo.district import CIVIL_AFFAIRS_SCHEME, HR_SCHEME, District
from hub.demo.extract_elderly import write_elderly_care
from hub.demo.extract_employment import write_employment
from hub.demo.extract_grid import write_grid
from hub.demo.extract_medical import write_medical
from hub.demo.manifest import DemoManifest
from hub.demo.places import write_places
from hub.demo.population import build_population
from hub.demo.writers import write_csv

CROSSWALK_NAME = "grid_crosswalk.csv"
CROSSWALK_VALID_FROM = "2021-01-01"
# How far each department's extract lags behind `today`. Employment is the stale one: the
# contract promises 30 days.
AS_OF_LAG_DAYS = {"grid": 2, "elderly_care": 12, "medical": 5, "employment": 100}
STAGES = ("population", "grid", "elderly_care", "medical", "employment", "crosswalk",
          "manifest")

Progress = Callable[[str, int, int], None]


def write_crosswalk(district: District, out_dir: Path) -> Path:
    """(scheme, code) -> standard community or grid code for the civil affairs and HR schemes.

    The retired codes some extract rows still carry are absent on purpose."""
    comm, grids = district.communities, district.grids
    table = pa.table({
        "scheme": pa.array([CIVIL_AFFAIRS_SCHEME] * comm + [HR_SCHEME] * grids),
        "code": pa.concat_arrays([district.community_mz, district.grid_rs]),
        "standard_code": pa.concat_arrays([district.community_codes, district.grid_codes]),
        "level": pa.array(["community"] * comm + ["grid"] * grids),
        "valid_from": pa.array([CROSSWALK_VALID_FROM] * (comm + grids)),
    })
    path = out_dir / CROSSWALK_NAME
    write_csv(table, path, "utf-8")
    return path


def generate_demo(out_dir: Path, residents: int = 20_000, seed: int = 7,
                  today: date | None = None, progress: Progress | None = None) -> DemoManifest:
    """Write the demo district's extracts, crosswalk and manifest.json into `out_dir`.

    Deterministic: the same residents, seed and `today` give the same bytes. `progress` is
    called after each stage with (stage name, stages done, stages in all)."""
    if residents < 100:
        raise ValueError(f"residents must be at least 100 (got {residents}) for every "
                         "defect and program to occur")
    today = today or date.today()
    out_dir.mkdir(parents=True, exist_ok=True)
    day = np.datetime64(today.isoformat(), "D")
    done = 0

    def step(stage: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(stage, done, len(STAGES))

    def as_of(dataset: str) -> np.datetime64:
        return day - np.timedelta64(AS_OF_LAG_DAYS[dataset], "D")

    def rng(stream: int) -> np.random.Generator:
        # One stream per extract: changing one extract leaves the others' bytes alone.
        return np.random.default_rng([seed, stream])

    pop = build_population(residents, seed, day)
    step("population")
    datasets = {"grid": write_grid(pop, out_dir, as_of("grid"), rng(2))}
    step("grid")
    elderly, elderly_findings = write_elderly_care(pop, out_dir, as_of("elderly_care"), rng(3))
    datasets["elderly_care"] = elderly
    step("elderly_care")
    datasets["medical"] = write_medical(pop, out_dir, as_of("medical"), rng(4))
    step("medical")
    employment, employment_findings = write_employment(pop, out_dir, as_of("employment"),
                                                       rng(5))
    datasets["employment"] = employment
    step("employment")
    crosswalk = write_crosswalk(pop.district, out_dir)
    write_places(pop.district, out_dir)  # the reference table of place names
    step("crosswalk")
    manifest = DemoManifest(
        residents=residents, households=pop.households, seed=seed, today=today,
        datasets=datasets, crosswalk=crosswalk,
        findings={**elderly_findings, **employment_findings})
    manifest.write(out_dir)
    step("manifest")
    return manifest

