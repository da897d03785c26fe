"""Aggregate tables (geography x category) with primary and secondary cell suppression.

The table is extended with its margins: row totals in the last column, column totals in the
last row, the grand total in the corner. Every line (row or column, the total line included)
is additive: its inner cells sum to its total cell. Cells count records (and sum amounts in
fen where the dataset has a money column).

Primary suppression: a cell (inner or margin) behind fewer than `threshold` distinct persons,
but more than none, is withheld (an empty cell says nothing about anyone).

Secondary suppression: with the margins published, the withheld cells are the unknowns of a
linear system, one equation per line. Seen as a bipartite graph (one node per row line, one
per column line, one edge per withheld cell) a withheld cell is determined exactly when its
edge is a bridge, i.e. lies on no cycle of withheld cells. So: (1) while a line holds exactly
one withheld cell, withhold the smallest other cell of that line; (2) when none does, look for
a bridge and withhold the smallest cell that closes a cycle through it; repeat until there
is no bridge. Smallest means fewest records, non-empty cells first (an empty cell is often
known to be empty).

The published file says "suppressed" for both kinds: telling them apart would tell a reader
which cells are small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TOTAL = "TOTAL"
UNMAPPED = "unmapped"
NONE = "none"


@dataclass(frozen=True)
class CellTable:
    rows: list[str]
    cols: list[str]
    records: np.ndarray  # (R+1, C+1) with margins
    persons: np.ndarray  # distinct persons behind each cell (not published)
    amounts: np.ndarray | None  # fen
    primary: np.ndarray  # bool
    suppressed: np.ndarray  # bool, primary and secondary

    @property
    def secondary(self) -> np.ndarray:
        return self.suppressed & ~self.primary

    def stats(self) -> dict[str, int | float]:
        cells = int(self.records.size)
        primary = int(self.primary.sum())
        secondary = int(self.secondary.sum())
        return {"cells": cells, "inner_cells": int(len(self.rows) * len(self.cols)),
                "primary_suppressed": primary, "secondary_suppressed": secondary,
                "suppressed_share": (primary + secondary) / cells if cells else 0.0}


def _with_margins(inner: pd.DataFrame, row_tot: pd.Series, col_tot: pd.Series,
                  grand: float) -> np.ndarray:
    top = np.column_stack([inner.to_numpy(), row_tot.to_numpy()])
    bottom = np.append(col_tot.to_numpy(), grand)
    return np.vstack([top, bottom]).astype(np.int64)


def _sums(frame: pd.DataFrame, measure: str, how: str, rows: list[str],
          cols: list[str]) -> np.ndarray:
    inner = frame.groupby(["geo", "cat"], observed=True)[measure].agg(how)
    grid = inner.unstack("cat").reindex(index=rows, columns=cols).fillna(0)
    by_row = frame.groupby("geo", observed=True)[measure].agg(how).reindex(rows).fillna(0)
    by_col = frame.groupby("cat", observed=True)[measure].agg(how).reindex(cols).fillna(0)
    grand = frame[measure].agg(how) if len(frame) else 0
    return _with_margins(grid, by_row, by_col, float(grand))


def build_table(geo: pd.Series, category: pd.Series, persons: pd.Series | None,
                amount_fen: pd.Series | None, threshold: int) -> CellTable:
    """Counts (and sums) by geography x category, then both suppressions."""
    frame = pd.DataFrame({
        "geo": geo.astype("string").fillna(UNMAPPED).to_numpy(),
        "cat": category.astype("string").fillna(NONE).to_numpy(),
        "one": np.ones(len(geo), dtype=np.int64),
    })
    if persons is not None:
        frame["person"] = persons.astype("string").fillna("").to_numpy()
    if amount_fen is not None:
        frame["fen"] = pd.to_numeric(amount_fen, errors="coerce").fillna(0).astype(
            np.int64).to_numpy()
    rows = sorted(frame["geo"].unique().tolist())
    cols = sorted(frame["cat"].unique().tolist())
    records = _sums(frame, "one", "sum", rows, cols)
    # Without a person key every record is taken to be a different person.
    people = _sums(frame, "person", "nunique", rows, cols) if persons is not None else records
    amounts = _sums(frame, "fen", "sum", rows, cols) if amount_fen is not None else None
    primary = (people > 0) & (people < threshold)
    suppressed = secondary_suppression(records, primary)
    return CellTable(rows, cols, records, people, amounts, primary, suppressed)


def _preference(values: np.ndarray, cells: list[tuple[int, int]]) -> tuple[int, int]:
    return min(cells, key=lambda c: (values[c] == 0, values[c], c))


class _Components:
    """Connected components of the withheld-cell graph, optionally without one edge."""

    def __init__(self, shape: tuple[int, int], edges: list[tuple[int, int]]) -> None:
        self.n_rows = shape[0]
        self.parent = list(range(shape[0] + shape[1]))
        for i, j in edges:
            self._union(i, self.n_rows + j)

    def _find(self, node: int) -> int:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def _union(self, a: int, b: int) -> None:
        self.parent[self._find(a)] = self._find(b)

    def row(self, i: int) -> int:
        return self._find(i)

    def col(self, j: int) -> int:
        return self._find(self.n_rows + j)


def _bridge(mask: np.ndarray) -> tuple[tuple[int, int], _Components] | None:
    edges = [(int(i), int(j)) for i, j in zip(*np.nonzero(mask), strict=True)]
    for edge in edges:
        rest = _Components(mask.shape, [e for e in edges if e != edge])
        if rest.row(edge[0]) != rest.col(edge[1]):
            return edge, rest
    return None


def secondary_suppression(values: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """The full suppression mask (primary plus secondary) of an extended table."""
    mask = primary.copy()
    while True:
        singles = [("row", i) for i in np.nonzero(mask.sum(axis=1) == 1)[0]]
        singles += [("col", j) for j in np.nonzero(mask.sum(axis=0) == 1)[0]]
        if singles:
            kind, index = singles[0]
            if kind == "row":
                cells = [(int(index), j) for j in range(mask.shape[1]) if not mask[index, j]]
            else:
                cells = [(i, int(index)) for i in range(mask.shape[0]) if not mask[i, index]]
            mask[_preference(values, cells)] = True
            continue
        found = _bridge(mask)
        if found is None:
            return mask
        (r, c), rest = found
        side_of_c, side_of_r = rest.col(c), rest.row(r)
        cells = [(i, j) for i in range(mask.shape[0]) for j in range(mask.shape[1])
                 if not mask[i, j] and rest.row(i) == side_of_c and rest.col(j) == side_of_r]
        mask[_preference(values, cells)] = True


def table_frame(table: CellTable, geography_level: str, category: str) -> pd.DataFrame:
    """The published long table: one row per cell, margins labelled TOTAL."""
    rows = [*table.rows, TOTAL]
    cols = [*table.cols, TOTAL]
    out = []
    for i, geo in enumerate(rows):
        for j, cat in enumerate(cols):
            hidden = bool(table.suppressed[i, j])
            item: dict[str, object] = {
                "geography_level": geography_level, "geography": geo, category: cat,
                "records": None if hidden else int(table.records[i, j])}
            if table.amounts is not None:
                item["amount_yuan"] = None if hidden else _yuan(int(table.amounts[i, j]))
            item["status"] = "suppressed" if hidden else "shown"
            out.append(item)
    frame = pd.DataFrame(out)
    frame["records"] = frame["records"].astype("Int64")
    return frame


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
