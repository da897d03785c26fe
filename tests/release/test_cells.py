"""Aggregate tables: small cells are withheld, and no withheld cell can be recomputed from
the published cells and totals (checked by solving the linear system of the table)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from desensitize.release.aggregate import (
    ExtractView,
    build_table,
    determined_cells,
    extract_equations,
    secondary_suppression,
    table_frame,
)
from desensitize.release.hierarchy import GRID_CODE


def extend(inner: np.ndarray) -> np.ndarray:
    """An inner table with its row totals, column totals and grand total."""
    rows = np.column_stack([inner, inner.sum(axis=1)])
    return np.vstack([rows, rows.sum(axis=0)])


def determined(mask: np.ndarray) -> list[tuple[int, int]]:
    """Withheld cells whose value follows from the published ones: x is determined exactly
    when its unit vector lies in the row space of the line equations over the unknowns."""
    unknowns = [(int(i), int(j)) for i, j in zip(*np.nonzero(mask), strict=True)]
    if not unknowns:
        return []
    n_rows, n_cols = mask.shape
    equations = []
    for i in range(n_rows):  # inner cells of the row minus its total cell
        equations.append([(1 if j < n_cols - 1 else -1) if r == i else 0 for r, j in unknowns])
    for j in range(n_cols):
        equations.append([(1 if i < n_rows - 1 else -1) if c == j else 0 for i, c in unknowns])
    system = np.array(equations, dtype=float)
    rank = np.linalg.matrix_rank(system)
    found = []
    for index, cell in enumerate(unknowns):
        unit = np.zeros(len(unknowns))
        unit[index] = 1
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            found.append(cell)
    return found


@settings(max_examples=60, deadline=None)
@given(inner=arrays(np.int64, st.tuples(st.integers(1, 6), st.integers(1, 5)),
                    elements=st.integers(0, 40)),
       threshold=st.integers(2, 15))
def test_no_withheld_cell_can_be_recomputed_from_the_totals(inner: np.ndarray,
                                                           threshold: int) -> None:
    values = extend(inner)
    primary = (values > 0) & (values < threshold)
    mask = secondary_suppression(values, primary)
    assert (mask | ~primary).all()  # every small cell is withheld
    lines = [*mask.sum(axis=0), *mask.sum(axis=1)]
    assert 1 not in lines  # no row or column (totals included) with a single withheld cell
    assert determined(mask) == []


def test_a_bridge_between_two_safe_blocks_gets_a_partner() -> None:
    # Two 2x2 blocks of withheld cells joined by one cell: every line holds 0 or >= 2
    # withheld cells, yet the joining cell follows from the totals. The solver sees it, and
    # so does the suppression.
    values = extend(np.array([[3, 4, 50, 50], [5, 6, 50, 50], [50, 2, 3, 4],
                              [50, 50, 5, 6]]))
    primary = np.zeros_like(values, dtype=bool)
    for cell in [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (2, 1)]:
        primary[cell] = True
    assert determined(primary) == [(2, 1)]
    mask = secondary_suppression(values, primary)
    assert determined(mask) == []


def test_table_counts_persons_for_the_threshold_and_hides_both_kinds_alike() -> None:
    geo = pd.Series(["110105001001"] * 30 + ["110105001002"] * 12 + ["110105002001"] * 25)
    category = pd.Series(["meal_aid"] * 20 + ["day_care"] * 10 + ["meal_aid"] * 12
                         + ["meal_aid"] * 15 + ["day_care"] * 10)
    # Community ...002 has 12 records of 3 persons: withheld although 12 >= 10.
    persons = pd.Series([f"p{i}" for i in range(30)] + [f"q{i % 3}" for i in range(12)]
                        + [f"r{i}" for i in range(25)])
    amount = pd.Series([1000] * len(geo))
    table = build_table(geo, category, persons, amount, threshold=10)
    frame = table_frame(table, "community", "program")
    cell = frame[(frame.geography == "110105001002") & (frame.program == "meal_aid")]
    assert cell.status.item() == "suppressed"
    assert pd.isna(cell.persons.item())
    assert set(frame.status) == {"shown", "suppressed"}
    assert determined(table.suppressed) == []
    shown = frame[(frame.geography == "TOTAL") & (frame.program == "TOTAL")]
    assert shown.persons.item() == 58  # persons per cell, summed
    assert shown.amount_yuan.item() == "670.00"
    stats = table.stats()
    assert stats["primary_suppressed"] >= 2
    assert stats["secondary_suppressed"] >= 1


def test_the_extract_beside_the_table_is_one_more_set_of_equations() -> None:
    """Street counts from the extract: a community cell withheld alone in its street would be
    its street's count minus the others; the suppression gives it a partner in the street."""
    geo = pd.Series(["110105001001"] * 30 + ["110105001002"] * 4 + ["110105001003"] * 25
                    + ["110105002001"] * 40 + ["110105002002"] * 30)
    category = pd.Series(["meal_aid"] * len(geo))
    persons = pd.Series([f"p{i}" for i in range(len(geo))])
    view = ExtractView(GRID_CODE, 2)  # the extract releases streets
    lines = extract_equations(sorted(set(geo)), ["meal_aid"], view)
    table = build_table(geo, category, persons, None, threshold=10, extract=view)
    hidden = table.suppressed
    assert hidden[1, 0]  # the 4-person community
    assert determined_cells(hidden, lines) == []
    assert table.stats()["recoverable_cells"] == 0
    assert hidden[:3, 0].sum() >= 2  # its partner is in the same street
