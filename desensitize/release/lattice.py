"""Full-domain generalisation search over the lattice of hierarchy levels, counted in persons.

A node gives one level per dimension: a quasi-identifier with the columns that follow it
(`with`), and, where a person has several records, the count of records a released row
stands for. The released rows of a person are the distinct generalised rows (with their
count), so a person's signature is the set of their generalised quasi-identifier rows. Persons
with the same signature form a class; a class is kept when it holds at least k persons and at
least l distinct values of every sensitive column (missing counts as one value); persons of
other classes are suppressed. A node is acceptable when it suppresses at most
`max_suppression` of the persons and the linkage gate (desensitize.release.risk) passes.

Information loss of a node, in [0, 1]: G * (1 - s) + s, where s is the share of persons
suppressed and G the generalisation loss: the loss metric of Iyengar averaged over
quasi-identifiers and records, (m - 1) / (M - 1) for a value generalised to cover m of the M
distinct values of its column (0 as it is, 1 for `*`); the count of records loses its level /
top level.

The search returns the acceptable node of least loss (then the lowest levels). G needs no
evaluation, and loss >= G. The top node is tried first: if it fails, every node fails
(generalising merges classes). Nodes are then visited in order of G; the search stops once G
reaches the best loss found, and a generalisation of an acceptable node whose G is higher by at
least `max_suppression` is skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from desensitize.release.signatures import (
    RECORD_EDGES,
    codes_of,
    combine,
    person_sets,
    record_bands,
)

Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class Dimension:
    """One axis of the lattice: (quasi-identifier index, its level at each axis level)."""

    members: tuple[tuple[int, tuple[int, ...]], ...]
    top: int


def follow(leader_top: int, follower_top: int) -> tuple[int, ...]:
    """Levels of a follower at each level of its leader: the same, capped below the top
    until the leader reaches its own top."""
    return tuple(follower_top if lv == leader_top else min(lv, follower_top - 1)
                 for lv in range(leader_top + 1))


@dataclass(frozen=True)
class Encoded:
    """Integer codes of the rows: per quasi-identifier and level, persons, the columns kept as
    they are; the generalisation loss of each quasi-identifier at each level."""

    rows: int
    qi_codes: tuple[tuple[np.ndarray, ...], ...]  # [qi][level] -> codes
    qi_cards: tuple[tuple[int, ...], ...]
    qi_loss: tuple[tuple[float, ...], ...]
    dims: tuple[Dimension, ...]
    records_top: int | None  # levels of the record count, None when one row per person
    persons: np.ndarray
    n_persons: int
    kept: tuple[tuple[np.ndarray, int], ...]  # columns released as they are
    sensitive: tuple[int, ...]  # indices into `kept`
    min_levels: tuple[int, ...] = ()
    diverse: tuple[int, ...] = ()  # generalised sensitive columns: in l, never in k

    @property
    def tops(self) -> tuple[int, ...]:
        tops = tuple(d.top for d in self.dims)
        return (*tops, self.records_top) if self.records_top is not None else tops

    def qi_levels(self, node: tuple[int, ...]) -> list[int]:
        levels = [0] * len(self.qi_codes)
        for dim, level in zip(self.dims, node, strict=False):
            for qi, mapping in dim.members:
                levels[qi] = mapping[level]
        return levels

    def loss(self, node: tuple[int, ...]) -> float:
        losses = [self.qi_loss[q][lv] for q, lv in enumerate(self.qi_levels(node))]
        if self.records_top is not None:
            losses.append(node[-1] / self.records_top)
        return float(np.mean(losses)) if losses else 0.0


def _level_loss(codes: np.ndarray, card: int, base: np.ndarray, base_card: int) -> float:
    if base_card <= 1 or len(codes) == 0:
        return 0.0
    covered = np.bincount(np.asarray(pd.unique(codes * base_card + base)) // base_card,
                          minlength=card)
    return float(((covered[codes] - 1) / (base_card - 1)).mean())


def encode(levels: list[list[pd.Series]], dims: list[Dimension], persons: pd.Series,
           kept: list[pd.Series], sensitive: list[int],
           min_levels: list[int] | None = None, diverse: list[int] | None = None) -> Encoded:
    """Factorise each generalised column (missing is a code of its own)."""
    qi = [[codes_of(s) for s in qi_levels] for qi_levels in levels]
    person_codes, n_persons = codes_of(persons)
    multi = len(persons) > 0 and int(np.bincount(person_codes).max()) > 1
    return Encoded(
        rows=len(persons),
        qi_codes=tuple(tuple(c for c, _ in q) for q in qi),
        qi_cards=tuple(tuple(n for _, n in q) for q in qi),
        qi_loss=tuple(tuple(_level_loss(c, n, q[0][0], q[0][1]) for c, n in q) for q in qi),
        dims=tuple(dims), records_top=len(RECORD_EDGES) + 1 if multi else None,
        persons=person_codes, n_persons=n_persons,
        kept=tuple(codes_of(s) for s in kept), sensitive=tuple(sensitive),
        min_levels=tuple(min_levels or ()), diverse=tuple(diverse or ()))


@dataclass(frozen=True)
class NodeState:
    """What a node does to the rows: the released row groups and their record counts."""

    node: tuple[int, ...]
    qi_levels: tuple[int, ...]
    group: np.ndarray  # per row: its released row (person, generalised row, kept values)
    group_count: np.ndarray  # per group: records it stands for
    group_band: np.ndarray  # per group: band of that count at the node's level
    person_class: np.ndarray  # per person: class of the QI signature
    kept_persons: np.ndarray  # per person: bool


def node_state(enc: Encoded, node: tuple[int, ...]) -> tuple[NodeState, np.ndarray]:
    """The node's row groups and person classes; also the QI class of each row."""
    qi_levels = enc.qi_levels(node)
    qi_row, n_qi = combine([(enc.qi_codes[q][lv], enc.qi_cards[q][lv])
                            for q, lv in enumerate(qi_levels) if q not in enc.diverse],
                           enc.rows)
    diverse = [(enc.qi_codes[q][qi_levels[q]], enc.qi_cards[q][qi_levels[q]])
               for q in enc.diverse]
    group, _ = combine([(enc.persons, enc.n_persons), (qi_row, n_qi), *diverse, *enc.kept],
                       enc.rows)
    count = np.bincount(group)
    if enc.records_top is not None:
        band = record_bands(count, node[-1], enc.records_top)
    else:
        band = np.zeros(len(count), dtype=np.int64)
    width = int(band.max(initial=0)) + 1
    elements = qi_row * width + band[group]
    person_class = person_sets(enc.persons, enc.n_persons, elements)
    state = NodeState(node, tuple(qi_levels), group, count, band, person_class,
                      np.ones(enc.n_persons, dtype=bool))
    return state, qi_row


@dataclass(frozen=True)
class NodeResult:
    node: tuple[int, ...]
    acceptable: bool
    persons: int
    suppressed_persons: int
    records: int
    suppressed_records: int
    classes: int  # classes kept
    k_persons: int | None  # smallest kept class, in persons (None when nothing is kept)
    k_records: int | None  # records of the smallest kept class
    l_reached: tuple[int | None, ...]  # per sensitive column (generalised ones first)
    heights: tuple[float, ...]  # level / top level, per dimension
    generalisation_loss: float
    discernibility: float
    gate: object = None  # the gate's figures when it ran

    @property
    def suppressed_share(self) -> float:
        return self.suppressed_persons / self.persons if self.persons else 0.0

    @property
    def suppressed_records_share(self) -> float:
        return self.suppressed_records / self.records if self.records else 0.0

    @property
    def mean_height(self) -> float:
        return float(np.mean(self.heights)) if self.heights else 0.0

    @property
    def information_loss(self) -> float:
        s = self.suppressed_share
        return self.generalisation_loss * (1 - s) + s


def _distinct(classes: np.ndarray, n_classes: int, codes: np.ndarray, card: int) -> np.ndarray:
    pairs = pd.unique(classes * card + codes)
    return np.bincount(np.asarray(pairs) // card, minlength=n_classes)


def evaluate(enc: Encoded, node: tuple[int, ...], k: int, l_div: int,
             max_suppression: float) -> tuple[NodeResult, NodeState]:
    """The node's figures and what it does to the rows (kept persons marked)."""
    state, _ = node_state(enc, node)
    pclass = state.person_class
    n_classes = int(pclass.max(initial=-1)) + 1
    persons = np.bincount(pclass[pclass >= 0], minlength=n_classes)
    row_class = pclass[enc.persons]
    records = np.bincount(row_class, minlength=n_classes)
    ok = persons >= k
    levels = state.qi_levels
    columns = [(enc.qi_codes[q][levels[q]], enc.qi_cards[q][levels[q]]) for q in enc.diverse]
    columns += [enc.kept[i] for i in enc.sensitive]
    diversity = [_distinct(row_class, n_classes, *c) for c in columns]
    for distinct in diversity:
        ok &= distinct >= l_div
    kept_persons = ok[pclass]
    suppressed = int((~kept_persons).sum())
    kept = bool(ok.any())
    result = NodeResult(
        node=node,
        acceptable=suppressed <= max_suppression * enc.n_persons,
        persons=enc.n_persons, suppressed_persons=suppressed,
        records=enc.rows, suppressed_records=int(records[~ok].sum()),
        classes=int(ok.sum()),
        k_persons=int(persons[ok].min()) if kept else None,
        k_records=int(records[ok].min()) if kept else None,
        l_reached=tuple(int(d[ok].min()) if kept else None for d in diversity),
        heights=tuple(lv / top if top else 0.0 for lv, top in zip(node, enc.tops, strict=True)),
        generalisation_loss=enc.loss(node),
        discernibility=float((persons[ok].astype(np.float64) ** 2).sum()
                             + suppressed * float(enc.n_persons)),
    )
    return result, NodeState(state.node, state.qi_levels, state.group, state.group_count,
                             state.group_band, pclass, kept_persons)


Gate = Callable[[NodeState], tuple[bool, object]]


@dataclass
class SearchResult:
    best: NodeResult | None
    lattice_size: int
    evaluated: int
    least_suppressed_share: float
    top: NodeResult | None = None
    refused_by_gate: object = None  # the gate's figures at the last node it refused


def _rank(result: NodeResult) -> tuple[float, float, tuple[int, ...]]:
    return (round(result.information_loss, 12), result.discernibility, result.node)


def _dominates(high: tuple[int, ...], low: tuple[int, ...]) -> bool:
    return all(a >= b for a, b in zip(high, low, strict=True))


def search(enc: Encoded, k: int, l_div: int, max_suppression: float,
           gate: Gate | None = None, progress: Progress | None = None) -> SearchResult:
    tops = enc.tops
    floors = [*enc.min_levels, *[0] * (len(tops) - len(enc.min_levels))]
    ranges = [range(min(f, t), t + 1) for f, t in zip(floors, tops, strict=True)]
    nodes = sorted(itertools.product(*ranges), key=lambda n: (enc.loss(n), sum(n), n))
    found = SearchResult(best=None, lattice_size=len(nodes), evaluated=0,
                         least_suppressed_share=1.0)
    acceptable: list[NodeResult] = []

    def run(node: tuple[int, ...]) -> NodeResult:
        result, state = evaluate(enc, node, k, l_div, max_suppression)
        found.evaluated += 1
        found.least_suppressed_share = min(found.least_suppressed_share,
                                           result.suppressed_share)
        if progress is not None:
            progress("generalise", found.evaluated, len(nodes))
        if result.acceptable and gate is not None:
            passed, figures = gate(state)
            result = NodeResult(**{**result.__dict__, "acceptable": passed, "gate": figures})
            if not passed:
                found.refused_by_gate = figures
        return result

    top = run(tuple(tops))
    found.top = top
    if not top.acceptable:  # every other node is a specialisation of the top: all fail
        return found
    acceptable.append(top)
    for node in nodes:
        if node == top.node:
            continue
        g = enc.loss(node)
        if g >= min(acceptable, key=_rank).information_loss:
            break  # every remaining node loses at least its G
        if any(_dominates(node, a.node) and g - a.generalisation_loss >= max_suppression
               for a in acceptable):
            continue  # cannot beat the acceptable node it generalises
        result = run(node)
        if result.acceptable:
            acceptable.append(result)
    found.best = min(acceptable, key=_rank)
    return found
