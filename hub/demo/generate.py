"""generate_demo: the synthetic district, its four department extracts, crosswalk and manifest.

A city (more than twice PART_RESIDENTS) is generated in parts of about PART_RESIDENTS
residents sharing the city's streets, communities and grids: each part's residents,
households and extract rows are written and dropped before the next, so memory follows a
part, not the city. Parts draw from streams of their own, keep disjoint ID sequence numbers
and number their households on from the part before.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from hub.demo.defects import Defect
from hub.demo.district import CIVIL_AFFAIRS_SCHEME, HR_SCHEME, District, build_district
from hub.demo.extract_elderly import write_elderly_care
from hub.demo.extract_employment import write_employment
from hub.demo.extract_grid import write_grid
from hub.demo.extract_medical import SHEET_ROWS, write_medical
from hub.demo.manifest import DatasetManifest, DemoManifest
from hub.demo.places import write_places
from hub.demo.population import Population, build_population
from hub.demo.writers import write_csv

CROSSWALK_NAME = "grid_crosswalk.csv"
CROSSWALK_VALID_FROM = "2021-01-01"
# How far each department's extract lags behind `today`. Employment is the stale one: the
# contract promises 30 days.
AS_OF_LAG_DAYS = {"grid": 2, "elderly_care": 12, "medical": 5, "employment": 100}
STAGES = ("population", "grid", "elderly_care", "medical", "employment", "crosswalk",
          "manifest")
PART_STAGES = STAGES[:5]  # done once per part of a city
PART_RESIDENTS = 1_000_000

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


def city_parts(residents: int, part_residents: int = PART_RESIDENTS) -> list[int]:
    """Residents per part: one part up to twice `part_residents`, else parts as even as can be."""
    if residents <= 2 * part_residents:
        return [residents]
    parts = math.ceil(residents / part_residents)
    return [residents // parts + (i < residents % parts) for i in range(parts)]


def generate_demo(out_dir: Path, residents: int = 20_000, seed: int = 7,
                  today: date | None = None, progress: Progress | None = None,
                  part_residents: int = PART_RESIDENTS) -> DemoManifest:
    """Write the demo district's extracts, crosswalk and manifest.json into `out_dir`.

    Deterministic: the same residents, seed and `today` give the same bytes. `progress` is
    called after each stage with (stage name, stages done, stages in all); a city's parts
    each report their own stages."""
    if residents < 100:
        raise ValueError(f"residents must be at least 100 (got {residents}) for every "
                         "defect and program to occur")
    today = today or date.today()
    out_dir.mkdir(parents=True, exist_ok=True)
    day = np.datetime64(today.isoformat(), "D")
    sizes = city_parts(residents, part_residents)
    total = len(PART_STAGES) * len(sizes) + len(STAGES) - len(PART_STAGES)
    done = 0

    def step(stage: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(stage, done, total)

    if len(sizes) == 1:
        pop = build_population(residents, seed, day)
        district, households = pop.district, pop.households
        step("population")
        datasets, findings = _write_extracts(pop, out_dir, day, seed, None, step)
        del pop
    else:
        district = build_district(residents, np.random.default_rng([seed, 1]))
        datasets, findings, households = _write_city(district, sizes, out_dir, day, seed, step)
    crosswalk = write_crosswalk(district, out_dir)
    write_places(district, out_dir)  # the reference table of place names
    step("crosswalk")
    manifest = DemoManifest(
        residents=residents, households=households, seed=seed, today=today,
        datasets=datasets, crosswalk=crosswalk, findings=findings)
    manifest.write(out_dir)
    step("manifest")
    return manifest


def _write_extracts(pop: Population, out_dir: Path, day: np.datetime64, seed: int,
                    part: int | None, step: Callable[[str], None]
                    ) -> tuple[dict[str, DatasetManifest], dict[str, int]]:
    """The four extracts of `pop` (a district, or part `part` of a city) into `out_dir`."""

    def as_of(dataset: str) -> np.datetime64:
        return day - np.timedelta64(AS_OF_LAG_DAYS[dataset], "D")

    def rng(stream: int) -> np.random.Generator:
        # One stream per extract (and part): changing one leaves the others' bytes alone.
        return np.random.default_rng([seed, stream] if part is None else [seed, stream, part])

    datasets = {"grid": write_grid(pop, out_dir, as_of("grid"), rng(2))}
    step("grid")
    elderly, elderly_findings = write_elderly_care(pop, out_dir, as_of("elderly_care"), rng(3))
    datasets["elderly_care"] = elderly
    step("elderly_care")
    # A city's medical extract outgrows one worksheet: every part writes it as CSV.
    datasets["medical"] = write_medical(pop, out_dir, as_of("medical"), rng(4),
                                        sheet_rows=SHEET_ROWS if part is None else 0)
    step("medical")
    employment, employment_findings = write_employment(pop, out_dir, as_of("employment"),
                                                       rng(5))
    datasets["employment"] = employment
    step("employment")
    return datasets, {**elderly_findings, **employment_findings}


def _write_city(district: District, sizes: list[int], out_dir: Path, day: np.datetime64,
                seed: int, step: Callable[[str], None]
                ) -> tuple[dict[str, DatasetManifest], dict[str, int], int]:
    """Each part's extracts, appended to the city's; (datasets, findings, households)."""
    scratch = out_dir / ".parts"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    datasets: dict[str, DatasetManifest] = {}
    findings: Counter[str] = Counter()
    households = 0
    for part, size in enumerate(sizes):
        pop = build_population(size, seed, day, district=district, part=part,
                               parts=len(sizes), first_household=households)
        households += pop.households
        step("population")
        written, found = _write_extracts(pop, scratch, day, seed, part, step)
        del pop
        findings.update(found)
        for name, made in written.items():
            target = out_dir / made.extract.name
            _append_rows(made.extract, target, header=part == 0)
            datasets[name] = _joined(datasets.get(name), dataclasses.replace(made, extract=target))
    shutil.rmtree(scratch)
    return datasets, dict(findings), households


def _append_rows(part: Path, city: Path, header: bool) -> None:
    """Append a part's extract (CSV or JSON Lines) to the city's, its header line once."""
    with part.open("rb") as source, city.open("wb" if header else "ab") as sink:
        first = source.readline()
        if header or part.suffix == ".jsonl":
            sink.write(first)
        shutil.copyfileobj(source, sink, 16 * 1024**2)
    part.unlink()


def _joined(city: DatasetManifest | None, part: DatasetManifest) -> DatasetManifest:
    if city is None:
        return part
    defects = dict(city.defects)
    for name, found in part.defects.items():
        before = defects[name]["rows"] if name in defects else 0
        defects[name] = Defect(rows=before + found["rows"], rule=found["rule"])
    return dataclasses.replace(city, rows=city.rows + part.rows, defects=defects)
