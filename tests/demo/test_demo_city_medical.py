"""A city's medical extract outgrows one worksheet: the generator then saves the same sheet as
CSV, and the hub maps the same contract rows from it as from the workbook."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from demo_kit import SEED, TODAY

from connectors import load_source, open_reader
from connectors.mapping import map_chunk
from hub.demo.extract_medical import write_medical
from hub.demo.population import Population
from schemas.registry import get_contract


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
