"""The defects real department extracts carry, planted on chosen rows and counted exactly.

Each defect is planted on its own rows (rows never carry two planted defects, except row-wide
styles such as mixed date formats), so the manifest can say how many rows the hub must repair
and how many it must quarantine under which rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.demo.population import CHECK_CHARS
from hub.demo.textops import fullwidth_digits, join, replace_at, take, to_numpy_bool

RULE_CHECK = "resident_id:check_character"
RULE_DUPLICATE = "duplicate_key"
RULE_PHONE = "phone:format"
RULE_EXCEL = "resident_id:excel_numeric"
RULE_MISSING_ID = "resident_id:missing"
RULE_PATTERN = "pattern"
RULE_UNMAPPED = "code:unmapped"


class Defect(TypedDict):
    rows: int  # rows of the written extract carrying the defect
    rule: str | None  # quarantine rule it must trigger; None when the hub repairs it


@dataclass
class DefectPlan:
    """Chooses disjoint rows for defects and keeps one flag array per defect."""

    n: int
    rng: np.random.Generator
    taken: np.ndarray = field(init=False)
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    rules: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.taken = np.zeros(self.n, dtype=bool)

    def pick(self, name: str, rule: str | None, share: float,
             eligible: np.ndarray | None = None) -> np.ndarray:
        """Sorted indexes of about `share` of the rows (at least one), not picked before."""
        free = ~self.taken if eligible is None else ~self.taken & eligible
        candidates = np.flatnonzero(free)
        k = min(len(candidates), max(1, round(share * self.n)))
        idx = np.sort(self.rng.choice(candidates, size=k, replace=False))
        mask = np.zeros(self.n, dtype=bool)
        mask[idx] = True
        self.mark(name, rule, mask, exclusive=True)
        return idx

    def mark(self, name: str, rule: str | None, mask: np.ndarray, exclusive: bool) -> None:
        """Record a defect on `mask`; exclusive ones keep later picks off these rows."""
        self.flags[name] = mask
        self.rules[name] = rule
        if exclusive:
            self.taken |= mask

    def duplicate(self, share: float) -> np.ndarray:
        """Row order of the extract with exact copies of some clean rows inserted later on.

        Copies come from rows with no other defect, so each copy adds one `duplicate_rows`
        row and nothing else. Returns indexes into the current rows (copies repeat one)."""
        clean = np.ones(self.n, dtype=bool)
        for mask in self.flags.values():
            clean &= ~mask
        candidates = np.flatnonzero(clean)
        k = min(len(candidates), max(1, round(share * self.n)))
        src = np.sort(self.rng.choice(candidates, size=k, replace=False))
        after = self.rng.integers(src, self.n)  # the copy lands after row `after`
        keys = np.concatenate([2 * np.arange(self.n), 2 * after + 1])
        order = np.argsort(keys, kind="stable")
        rows = np.concatenate([np.arange(self.n), src])[order]
        is_copy = np.concatenate([np.zeros(self.n, bool), np.ones(k, bool)])[order]
        self.flags = {name: mask[rows] & ~is_copy for name, mask in self.flags.items()}
        self.flags["duplicate_rows"] = is_copy
        self.rules["duplicate_rows"] = RULE_DUPLICATE
        self.n = len(rows)
        self.taken = self.taken[rows] | is_copy
        return rows

    def counts(self) -> dict[str, Defect]:
        return {name: Defect(rows=int(mask.sum()), rule=self.rules[name])
                for name, mask in self.flags.items()}


def wrong_check_char(ids: pa.Array, idx: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """IDs at `idx` with a check character that is valid-looking but wrong."""
    sub = take(ids, idx)
    pool = pa.array(list(CHECK_CHARS))
    right = pc.index_in(pc.utf8_slice_codeunits(sub, 17, 18), value_set=pool).to_numpy()
    wrong = (right + rng.integers(1, 11, len(idx))) % 11
    return replace_at(ids, idx, join(pc.utf8_slice_codeunits(sub, 0, 17), take(pool, wrong)))


def wrong_birth_day(ids: pa.Array, idx: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """IDs at `idx` whose birth day was mistyped (a valid day, so only the check fails)."""
    sub = take(ids, idx)
    old = pc.cast(pc.utf8_slice_codeunits(sub, 12, 14), pa.int64()).to_numpy()
    new = (old - 1 + rng.integers(1, 28, len(idx))) % 28 + 1
    day = pa.array([f"{d:02d}" for d in new], pa.string())
    return replace_at(ids, idx, join(pc.utf8_slice_codeunits(sub, 0, 12), day,
                                     pc.utf8_slice_codeunits(sub, 14, 18)))


def lower_x(ids: pa.Array, idx: np.ndarray) -> pa.Array:
    return replace_at(ids, idx, pc.utf8_lower(take(ids, idx)))


def fullwidth(values: pa.Array, idx: np.ndarray) -> pa.Array:
    return replace_at(values, idx, fullwidth_digits(take(values, idx)))


def spaced_id(ids: pa.Array, idx: np.ndarray) -> pa.Array:
    """IDs typed in groups: area, birth date, sequence and check ('110105 19500302 123X')."""
    sub = take(ids, idx)
    parts = [pc.utf8_slice_codeunits(sub, a, b) for a, b in ((0, 6), (6, 14), (14, 18))]
    return replace_at(ids, idx, join(*parts, sep=" "))


def broken_phone(phones: pa.Array, idx: np.ndarray, rng: np.random.Generator) -> pa.Array:
    """Mobile numbers at `idx` made invalid: a digit lost, a digit too many, or a '12' prefix.

    All still start with 1, so none can pass for a landline with an area code either."""
    sub = take(phones, idx)
    variant = rng.integers(0, 3, len(idx))
    short = pc.utf8_slice_codeunits(sub, 0, 10)
    long = join(sub, take(pa.array(list("0123456789")), rng.integers(0, 10, len(idx))))
    bad_prefix = join("12", pc.utf8_slice_codeunits(sub, 2, 11))
    out = pc.if_else(pa.array(variant == 0), short,
                     pc.if_else(pa.array(variant == 1), long, bad_prefix))
    return replace_at(phones, idx, out)


def ends_with_x(ids: pa.Array) -> np.ndarray:
    return to_numpy_bool(pc.ends_with(ids, "X"))


def is_mobile(phones: pa.Array) -> np.ndarray:
    return to_numpy_bool(pc.fill_null(pc.match_substring_regex(phones, r"^1\d{10}$"), False))
