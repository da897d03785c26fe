"""The linkage gate: before a release leaves, every attacker of the threat model (docs/privacy.md)
is simulated against it, and the release is refused when one of them re-identifies more than
the allowed share of its persons.

An attacker knows some columns of some rows, exactly, for everybody in their reach, and knows
how the release generalised them (the report says). So their view of a person is the set of
that person's generalised rows restricted to what they know; they link it to the release on
the same view. A released person is re-identified uniquely and correctly when exactly one
person of the attacker's population has the view the release shows for them (the views of the
released person and of the true person are the same, so the one match is the right one).
Everybody in the rows is in the population, including the persons the release suppresses.

Attackers:
- the owning department: every column of every row of its dataset, with the number of records
- each other department, the grid worker (the registry holder) and a neighbour: the columns
  the contract says they know (`known_by`), on every row
- for a dataset whose rows come from several departments (the ledger): each department knows
  every column of its own rows
- another recipient of the same dataset: everything in their own copy (the cross-recipient
  join: the copies are generalised identically, only the pseudonyms differ)

Singling out (an estimate, not gated): the share of released persons holding a released row
that no other released person holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from desensitize.release.column_plan import ReleasePlan, Treatment
from desensitize.release.lattice import Encoded, NodeState
from desensitize.release.signatures import combine, person_sets

OTHER_RECIPIENT = "another recipient"
NEIGHBOUR = "neighbour"


@dataclass(frozen=True)
class Attacker:
    name: str
    columns: tuple[str, ...]  # output columns known (quasi-identifiers and kept columns)
    rows: np.ndarray | None  # bool per row known; None: every row
    counts: bool  # knows how many records each released row stands for


@dataclass
class GateFigures:
    threshold: float
    per_attacker: dict[str, dict[str, object]] = field(default_factory=dict)
    worst: str | None = None
    worst_share: float = 0.0
    singling_out: float = 0.0

    @property
    def passed(self) -> bool:
        return self.worst_share <= self.threshold

    def as_dict(self) -> dict[str, object]:
        return {"threshold": self.threshold, "passed": self.passed,
                "worst_attacker": self.worst, "worst_share": self.worst_share,
                "singling_out_share": self.singling_out, "attackers": self.per_attacker}


def attackers(plan: ReleasePlan, row_owner: pd.Series | None) -> list[Attacker]:
    """The attackers of the threat model for `plan` (see the module docstring)."""
    released = [c for c in plan.columns if c.hierarchy is not None or c in plan.kept]
    every = tuple(str(c.output) for c in released)
    out: list[Attacker] = []
    if plan.row_owner is None:
        out.append(Attacker(f"{plan.owner} (owner)", every, None, True))
    names: set[str] = {n for c in released for n in c.known_by}
    owners = sorted(set(row_owner.dropna().astype(str))) if row_owner is not None else []
    for name in sorted(names | set(owners)):
        if name == plan.owner and plan.row_owner is None:
            continue
        columns = tuple(str(c.output) for c in released if name in c.known_by)
        out.append(Attacker(name, columns, None, False))
        if name in owners and row_owner is not None:
            own = (row_owner.astype("string") == name).fillna(False).to_numpy(dtype=bool)
            out.append(Attacker(f"{name} (own rows)", every, own, False))
    out.append(Attacker(OTHER_RECIPIENT, every, None, True))
    return out


def _column_codes(enc: Encoded, plan: ReleasePlan, state: NodeState
                  ) -> dict[str, tuple[np.ndarray, int]]:
    codes: dict[str, tuple[np.ndarray, int]] = {}
    qis = plan.quasi_identifiers
    for q, (column, level) in enumerate(zip(qis, state.qi_levels, strict=True)):
        codes[str(column.output)] = (enc.qi_codes[q][level], enc.qi_cards[q][level])
    for column, kept in zip(plan.kept, enc.kept, strict=True):
        codes[str(column.output)] = kept
    return codes


def _view(enc: Encoded, state: NodeState, attacker: Attacker,
          codes: dict[str, tuple[np.ndarray, int]]) -> np.ndarray:
    """Per person: a class number shared by persons with the same view, -1 for no view."""
    rows = np.arange(enc.rows) if attacker.rows is None else np.nonzero(attacker.rows)[0]
    parts = [(codes[c][0][rows], codes[c][1]) for c in attacker.columns]
    if attacker.counts:
        band = state.group_band[state.group[rows]]
        parts.append((band, int(band.max(initial=0)) + 1))
    element, _ = combine(parts, len(rows))
    return person_sets(enc.persons[rows], enc.n_persons, element)


def unique_share(view: np.ndarray, released: np.ndarray) -> tuple[float, int]:
    """Share (and number) of released persons whose view no other person has."""
    seen = view >= 0
    counts = np.bincount(view[seen], minlength=int(view.max(initial=-1)) + 1)
    unique = released & seen & (counts[np.maximum(view, 0)] == 1)
    n = int(released.sum())
    return (int(unique.sum()) / n if n else 0.0), int(unique.sum())


def singling_out(enc: Encoded, state: NodeState) -> float:
    """Share of released persons with a released row no other released person holds."""
    released = state.kept_persons
    rows = released[enc.persons]
    persons = enc.persons[rows]
    # The released row without its person: generalised values, kept values and count band.
    content = _content_codes(enc, state)[rows]
    pairs = pd.DataFrame({"p": persons, "c": content}).drop_duplicates()
    holders = pairs.groupby("c")["p"].transform("size").to_numpy()
    single = np.zeros(enc.n_persons, dtype=bool)
    single[pairs["p"].to_numpy()[holders == 1]] = True
    n = int(released.sum())
    return float((single & released).sum()) / n if n else 0.0


def _content_codes(enc: Encoded, state: NodeState) -> np.ndarray:
    parts = [(enc.qi_codes[q][lv], enc.qi_cards[q][lv]) for q, lv in enumerate(state.qi_levels)]
    band = state.group_band[state.group]
    parts.append((band, int(band.max(initial=0)) + 1))
    codes, _ = combine([*parts, *enc.kept], enc.rows)
    return codes


def columns_to_blame(plan: ReleasePlan, attacker: Attacker) -> list[str]:
    """Columns an attacker links on that k does not cover (sensitive and safe ones)."""
    outside = {str(c.output) for c in plan.columns
               if c.treatment in (Treatment.KEEP, Treatment.SENSITIVE)}
    return [c for c in attacker.columns if c in outside]


def gate(enc: Encoded, plan: ReleasePlan, state: NodeState, found: list[Attacker],
         threshold: float) -> GateFigures:
    """Every attacker's unique re-identification share at the node `state`."""
    figures = GateFigures(threshold)
    codes = _column_codes(enc, plan, state)
    released = state.kept_persons
    for attacker in found:
        if not attacker.columns:
            continue
        view = _view(enc, state, attacker, codes)
        share, count = unique_share(view, released)
        figures.per_attacker[attacker.name] = {
            "knows": list(attacker.columns) + (["records"] if attacker.counts else []),
            "rows": "own rows" if attacker.rows is not None else "all rows",
            "persons_known": int(((view >= 0) & released).sum()),
            "unique_reidentified": count, "unique_share": share}
        if share > figures.worst_share or figures.worst is None:
            figures.worst, figures.worst_share = attacker.name, share
    figures.singling_out = singling_out(enc, state)
    return figures

