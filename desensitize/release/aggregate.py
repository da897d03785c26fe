"""Aggregate tables (geography x category) with primary and secondary cell suppression.

The table is extended with its margins: row totals in the last column, column totals in the
last row, the grand total in the corner. Every line (row or column, the total line included)
is additive: its inner cells sum to its total cell. Cells count persons (a person with
records in two categories counts in both; a total is the sum of its cells) and sum amounts in
fen where the dataset has a money column.

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

The extract released beside the table is one more source of equations: a reader counts its
persons at the levels it is released at (its geography, its category), and each such count is
the sum of the table's cells it covers. So after (1) and (2), a withheld cell is checked
against every equation at once (margins and extract lines): it is determined exactly when
every vector of the null space of the system over the withheld cells is zero at it. A
determined cell gets a partner (the smallest published cell of an equation through it) until
none is determined. A cell the extract alone determines (its count covers that cell alone, or the
extract counts a whole margin) is no secret of the table: it is reported, not protected.

The published file says "suppressed" for both kinds: telling them apart would tell a reader
which cells are small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from desensitize.release.hierarchy import Hierarchy

TOTAL = "TOTAL"
UNMAPPED = "unmapped"
NONE = "none"


@dataclass(frozen=True)
class ExtractView:
    """The levels the extract beside the table releases its geography and category at
    (None: the extract has no such column, or it equals the table's)."""

    geography: Hierarchy | None = None
    geography_level: int = 0
    category: Hierarchy | None = None
    category_level: int = 0


@dataclass(frozen=True)
class CellTable:
    rows: list[str]
    cols: list[str]
    persons: np.ndarray  # (R+1, C+1) with margins: persons per cell, totals are sums
    amounts: np.ndarray | None  # fen
    primary: np.ndarray  # bool
    suppressed: np.ndarray  # bool, primary and secondary
    extract_lines: int = 0  # equations the extract adds
    recoverable: int = 0  # withheld cells the table and the extract together give away
    published: int = 0  # cells the extract alone publishes (withheld or not, no secret)

    @property
    def secondary(self) -> np.ndarray:
        return self.suppressed & ~self.primary

    def stats(self) -> dict[str, int | float]:
        cells = int(self.persons.size)
        primary = int(self.primary.sum())
        secondary = int(self.secondary.sum())
        return {"cells": cells, "inner_cells": int(len(self.rows) * len(self.cols)),
                "primary_suppressed": primary, "secondary_suppressed": secondary,
                "suppressed_share": (primary + secondary) / cells if cells else 0.0,
                "extract_lines": self.extract_lines,
                "recoverable_cells": self.recoverable,
                "published_by_extract": self.published}


def build_table(geo: pd.Series, category: pd.Series, persons: pd.Series | None,
                amount_fen: pd.Series | None, threshold: int,
                extract: ExtractView | None = None) -> CellTable:
    """Persons (and sums) by geography x category, then both suppressions."""
    frame = pd.DataFrame({
        "geo": geo.astype("string").fillna(UNMAPPED).to_numpy(),
        "cat": category.astype("string").fillna(NONE).to_numpy(),
    })
    # Without a person key every record is taken to be a different person.
    frame["person"] = (persons.astype("string").fillna("").to_numpy() if persons is not None
                       else np.arange(len(frame)).astype(str))
    if amount_fen is not None:
        frame["fen"] = pd.to_numeric(amount_fen, errors="coerce").fillna(0).astype(
            np.int64).to_numpy()
    rows = sorted(frame["geo"].unique().tolist())
    cols = sorted(frame["cat"].unique().tolist())
    inner = (frame.groupby(["geo", "cat"], observed=True)["person"].nunique()
             .unstack("cat").reindex(index=rows, columns=cols).fillna(0).to_numpy())
    people = _extend(inner)
    amounts = None
    if amount_fen is not None:
        sums = (frame.groupby(["geo", "cat"], observed=True)["fen"].sum()
                .unstack("cat").reindex(index=rows, columns=cols).fillna(0).to_numpy())
        amounts = _extend(sums)
    primary = (people > 0) & (people < threshold)
    lines = extract_equations(rows, cols, extract or ExtractView())
    suppressed, recoverable, published = consistent_suppression(people, primary, lines)
    return CellTable(rows, cols, people, amounts, primary, suppressed, len(lines), recoverable,
                     published)


def _extend(inner: np.ndarray) -> np.ndarray:
    """An inner table with its row totals, column totals and grand total (sums)."""
    with_rows = np.column_stack([inner, inner.sum(axis=1)])
    return np.vstack([with_rows, with_rows.sum(axis=0)]).astype(np.int64)


def extract_equations(rows: list[str], cols: list[str], view: ExtractView
                      ) -> list[list[tuple[int, int]]]:
    """The inner cells each count of the extract covers (one list per count)."""
    geo = pd.Series(rows, dtype="string")
    cat = pd.Series(cols, dtype="string")
    geo_key = (view.geography.generalise(geo, view.geography_level) if view.geography
               else pd.Series("*", index=geo.index, dtype="string"))
    cat_key = (view.category.generalise(cat, view.category_level) if view.category
               else cat)
    groups: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for i, g in enumerate(geo_key.fillna(NONE)):
        for j, c in enumerate(cat_key.fillna(NONE)):
            groups.setdefault((str(g), str(c)), []).append((i, j))
    return list(groups.values())


Equation = list[tuple[tuple[int, int], float]]


def _equations(shape: tuple[int, int], lines: list[list[tuple[int, int]]]) -> list[Equation]:
    """Every equation of the extended table: each line (its cells minus its total cell) and
    each count of the extract (its cells, a published constant)."""
    n_rows, n_cols = shape
    out: list[Equation] = []
    for i in range(n_rows):
        out.append([((i, j), 1.0 if j < n_cols - 1 else -1.0) for j in range(n_cols)])
    for j in range(n_cols):
        out.append([((i, j), 1.0 if i < n_rows - 1 else -1.0) for i in range(n_rows)])
    return out + [[(cell, 1.0) for cell in cells] for cells in lines]


def determined_cells(mask: np.ndarray, lines: list[list[tuple[int, int]]]
                     ) -> list[tuple[int, int]]:
    """Withheld cells whose value follows from the published cells and every equation."""
    unknowns = [(int(i), int(j)) for i, j in zip(*np.nonzero(mask), strict=True)]
    if not unknowns:
        return []
    index = {cell: n for n, cell in enumerate(unknowns)}
    system = []
    for equation in _equations(mask.shape, lines):
        row = np.zeros(len(unknowns))
        for cell, coefficient in equation:
            if cell in index:
                row[index[cell]] = coefficient
        if row.any():
            system.append(row)
    if not system:
        return []
    _, sing, vt = np.linalg.svd(np.vstack(system))
    rank = int((sing > 1e-9 * max(float(sing.max(initial=0)), 1.0)).sum())
    null = vt[rank:].T
    norms = np.linalg.norm(null, axis=1) if null.size else np.zeros(len(unknowns))
    return [cell for cell, norm in zip(unknowns, norms, strict=True) if norm < 1e-9]


def published_by_extract(shape: tuple[int, int], lines: list[list[tuple[int, int]]]
                         ) -> set[tuple[int, int]]:
    """Cells the extract alone determines (the table withheld whole): withholding them in the
    table hides nothing, so they are neither a leak of the table nor a cell to protect."""
    return set(determined_cells(np.ones(shape, dtype=bool), lines)) if lines else set()


def consistent_suppression(values: np.ndarray, primary: np.ndarray,
                           lines: list[list[tuple[int, int]]]
                           ) -> tuple[np.ndarray, int, int]:
    """The suppression mask; the withheld cells the table and the extract together still give
    away; and the cells the extract publishes by itself."""
    mask = secondary_suppression(values, primary)
    equations = _equations(mask.shape, lines)
    stuck = published_by_extract(mask.shape, lines)
    while True:
        found = [c for c in determined_cells(mask, lines) if c not in stuck]
        if not found:
            leaks = [c for c in determined_cells(mask, lines)
                     if c not in published_by_extract(mask.shape, lines)]
            return mask, len(leaks), len(stuck)
        cell = found[0]
        partners = [c for eq in equations if cell in [e for e, _ in eq]
                    for c, _ in eq if not mask[c]]
        if not partners:
            stuck.add(cell)
            continue
        mask[_preference(values, partners)] = True
        mask = secondary_suppression(values, mask)


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
                "persons": None if hidden else int(table.persons[i, j])}
            if table.amounts is not None:
                item["amount_yuan"] = None if hidden else _yuan(int(table.amounts[i, j]))
            item["status"] = "suppressed" if hidden else "shown"
            out.append(item)
    frame = pd.DataFrame(out)
    frame["persons"] = frame["persons"].astype("Int64")
    return frame


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
