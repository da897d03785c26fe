"""A city is generated in parts sharing its streets, communities and grids: its extracts hold
every resident once under a unique ID, whatever part they came from. Its medical extract
outgrows one worksheet and is saved as CSV, from which the hub maps the same contract rows
as from the workbook."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from demo_kit import SEED, TODAY, normalise_id
from hypothesis import given
from hypothesis import strategies as st

from connectors import load_source, open_reader
from connectors.mapping import map_chunk
from hub.demo import DemoManifest, generate_demo, load_manifest
from hub.demo.extract_medical import write_medical
from hub.demo.generate import city_parts
from hub.demo.population import Population
from schemas.registry import get_contract

CITY = 3_100
PART = 1_000  # so the city comes in parts of about 1,000 residents


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("city") / "city", residents=CITY, seed=SEED,
                         today=TODAY, part_residents=PART)


def _grid(manifest: DemoManifest) -> list[dict[str, str]]:
    with manifest.datasets["grid"].path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@given(st.integers(100, 10**8), st.integers(10**4, 10**7))
def test_a_city_is_cut_into_even_parts_of_about_the_part_size(residents: int,
                                                             part: int) -> None:
    sizes = city_parts(residents, part)
    assert sum(sizes) == residents
    assert max(sizes) - min(sizes) <= 1
    assert len(sizes) == 1 if residents <= 2 * part else max(sizes) <= part


def test_every_resident_of_a_city_has_one_id_and_every_household_one_number(
        city: DemoManifest, demo: DemoManifest) -> None:
    for made in (city, demo):  # a city in parts, and a district in one
        rows = _grid(made)
        # Planted defects repeat rows and spoil check characters; the 17 digits before the
        # check character still name one resident each.
        people = {normalise_id(r["身份证号"])[:17] for r in rows}
        assert len(people) == made.residents
        assert len({r["户编号"] for r in rows}) == made.households
    assert city.residents == CITY


def test_a_city_in_parts_has_each_header_once_and_the_rows_its_manifest_counts(
        city: DemoManifest) -> None:
    for name, made in city.datasets.items():
        lines = made.path.read_bytes().splitlines()
        if made.format == "jsonl":
            assert len(lines) == made.rows, name
            assert all(json.loads(line) for line in lines)
            continue
        header = lines[0]
        assert header not in lines[1:], name
        assert len(lines) - 1 == made.rows, name
    assert city.datasets["medical"].format == "csv"
    assert not (city.crosswalk.parent / ".parts").exists()


def test_a_city_counts_the_defects_of_all_its_parts(city: DemoManifest) -> None:
    ids = pd.read_csv(city.datasets["medical"].path, dtype=str, usecols=["身份证号"])["身份证号"]
    planted = city.datasets["medical"].defects["id_scientific_notation"]["rows"]
    assert ids.str.contains("E+17", regex=False).sum() == planted > 0
    repeated = city.datasets["grid"].defects["duplicate_rows"]["rows"]
    rows = [tuple(r.values()) for r in _grid(city)]
    assert len(rows) - len(set(rows)) == repeated > 0


def test_a_city_is_the_same_bytes_again_and_reports_each_part(city: DemoManifest,
                                                              tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    again = generate_demo(tmp_path / "again", residents=CITY, seed=SEED, today=TODAY,
                          part_residents=PART,
                          progress=lambda stage, done, total: seen.append((stage, done, total)))
    first = city.crosswalk.parent
    assert {p.name: p.read_bytes() for p in first.iterdir()} == \
        {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir()}
    assert load_manifest(tmp_path / "again") == again
    parts = len(city_parts(CITY, PART))
    assert parts == 4
    assert [s[0] for s in seen].count("population") == parts
    assert [s[1] for s in seen] == list(range(1, 5 * parts + 3))
    assert {s[2] for s in seen} == {5 * parts + 2}


def _read(source: Path, extract: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The department's cells, and the contract rows and cell issues the hub maps from them."""
    spec = load_source(source)
    raw = list(open_reader(spec, extract).chunks(500))
    mapped = [map_chunk(spec, get_contract("medical"), chunk) for chunk in raw]
    return (pd.concat([c.frame for c in raw]), pd.concat([m.frame for m in mapped]),
            pd.concat([m.issues for m in mapped]).reset_index(drop=True))


def test_a_medical_extract_too_long_for_a_sheet_is_saved_as_csv_with_the_same_cells(
        population: Population, tmp_path: Path) -> None:
    as_of = np.datetime64(TODAY.isoformat(), "D")
    (tmp_path / "book").mkdir()
    (tmp_path / "csv").mkdir()
    book = write_medical(population, tmp_path / "book", as_of, np.random.default_rng([SEED, 4]))
    sheet_rows = book.rows  # one row short: the header needs one too
    city = write_medical(population, tmp_path / "csv", as_of, np.random.default_rng([SEED, 4]),
                         sheet_rows=sheet_rows)

    assert (book.format, book.extract.name) == ("xlsx", "medical.xlsx")
    assert (city.format, city.extract.name) == ("csv", "medical.csv")
    assert load_source(city.source).name == load_source(book.source).name
    assert city.rows == book.rows
    assert city.defects == book.defects

    book_cells, book_rows, book_issues = _read(book.source, book.extract)
    csv_cells, csv_rows, csv_issues = _read(city.source, city.extract)
    pd.testing.assert_frame_equal(csv_rows, book_rows)
    pd.testing.assert_frame_equal(csv_issues, book_issues)
    assert len(csv_rows) == city.rows
    # The damage Excel did survives the CSV: IDs shown in scientific notation, X lost.
    ids = csv_cells["身份证号"]
    assert ids.str.contains("E+17", regex=False).sum() == \
        city.defects["id_scientific_notation"]["rows"]
    assert (ids.str.len() == 17).sum() > 0
    # A malformed diagnosis code holding a comma is quoted, not split into another column.
    assert (csv_cells["诊断编码"] == "J44,1").sum() == (book_cells["诊断编码"] == "J44,1").sum()
