"""Full-domain generalisation search over the lattice of hierarchy levels.

A node gives one level per quasi-identifier. At a node, records fall into classes of equal
generalised quasi-identifiers; a class is kept when it holds at least k distinct persons (k
records when the dataset has no person key) and at least l distinct values of every
sensitive column (missing counts as one value); records of other classes are suppressed.
A node is acceptable when it suppresses at most `max_suppression` of the records.

Information loss of a node, in [0, 1]: G * (1 - s) + s, where s is the share of records
suppressed (a suppressed record loses everything) and G the generalisation loss: the loss
metric of Iyengar averaged over quasi-identifiers and records, (m - 1) / (M - 1) for a value
generalised to cover m of the M distinct values of its column (0 as it is, 1 for `*`). Unlike
the level alone it sees that 5-year bands of birth years lose far less than the step from
street to county. The normalised height (level / top level) is reported as well.

The search returns the acceptable node of least loss (then least discernibility, then the
lowest levels). G of a node needs no evaluation (it is a sum over columns), and loss >= G.
Pruning uses monotonicity: generalising merges classes, so an acceptable node's
generalisations are acceptable and suppress no more, and a failing node's specialisations
fail. The top node is tried first: if it fails, every node fails. Nodes are then visited in
order of G; the search stops once G reaches the best loss found, and a generalisation of an
acceptable node whose G is higher by at least `max_suppression` is skipped (its loss is at
least its G, which exceeds the loss of the node it generalises).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

Progress = Callable[[str, int, int | None], None]
_INT_LIMIT = 2**62


@dataclass(frozen=True)
class Encoded:
    """Integer codes of the rows: per quasi-identifier and level, persons, sensitive columns;
    and the generalisation loss of each quasi-identifier at each level."""

    rows: int
    qi_codes: tuple[tuple[np.ndarray, ...], ...]  # [qi][level] -> codes
    qi_cards: tuple[tuple[int, ...], ...]
    qi_loss: tuple[tuple[float, ...], ...]  # [qi][level] -> mean (m - 1) / (M - 1)
    persons: tuple[np.ndarray, int] | None
    sensitive: tuple[tuple[np.ndarray, int], ...]

    @property
    def tops(self) -> tuple[int, ...]:
        return tuple(len(levels) - 1 for levels in self.qi_codes)

    def loss(self, node: tuple[int, ...]) -> float:
        return float(np.mean([self.qi_loss[q][lv] for q, lv in enumerate(node)])) if node \
            else 0.0


def _codes(series: pd.Series) -> tuple[np.ndarray, int]:
    values, uniques = pd.factorize(series, use_na_sentinel=False)
    return values.astype(np.int64), max(len(uniques), 1)


def _level_loss(codes: np.ndarray, card: int, base: np.ndarray, base_card: int) -> float:
    if base_card <= 1 or len(codes) == 0:
        return 0.0
    covered = np.bincount(np.asarray(pd.unique(codes * base_card + base)) // base_card,
                          minlength=card)
    return float(((covered[codes] - 1) / (base_card - 1)).mean())


def encode(rows: int, levels: list[list[pd.Series]], persons: pd.Series | None,
           sensitive: list[pd.Series]) -> Encoded:
    """Factorise each generalised column (missing is a code of its own)."""
    qi = [[_codes(s) for s in qi_levels] for qi_levels in levels]
    loss = tuple(tuple(_level_loss(c, n, q[0][0], q[0][1]) for c, n in q) for q in qi)
    return Encoded(
        rows=rows,
        qi_codes=tuple(tuple(c for c, _ in q) for q in qi),
        qi_cards=tuple(tuple(n for _, n in q) for q in qi),
        qi_loss=loss,
        persons=_codes(persons) if persons is not None else None,
        sensitive=tuple(_codes(s) for s in sensitive),
    )


@dataclass(frozen=True)
class NodeResult:
    node: tuple[int, ...]
    acceptable: bool
    records: int
    suppressed_records: int
    classes: int  # classes kept
    k_persons: int | None  # smallest kept class, in persons (None when nothing is kept)
    k_records: int | None
    l_reached: tuple[int | None, ...]  # per sensitive column, smallest kept class
    heights: tuple[float, ...]  # level / top level, per quasi-identifier
    losses: tuple[float, ...]  # generalisation loss per quasi-identifier
    discernibility: float

    @property
    def suppressed_share(self) -> float:
        return self.suppressed_records / self.records if self.records else 0.0

    @property
    def mean_height(self) -> float:
        return float(np.mean(self.heights)) if self.heights else 0.0

    @property
    def generalisation_loss(self) -> float:
        return float(np.mean(self.losses)) if self.losses else 0.0

    @property
    def information_loss(self) -> float:
        s = self.suppressed_share
        return self.generalisation_loss * (1 - s) + s


def classes_of(enc: Encoded, node: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """Class number of each row at `node`, and the number of classes."""
    if not node:
        return np.zeros(enc.rows, dtype=np.int64), 1
    key = np.zeros(enc.rows, dtype=np.int64)
    size = 1
    for qi, level in enumerate(node):
        card = enc.qi_cards[qi][level]
        if size * card >= _INT_LIMIT:  # keep the mixed-radix key inside int64
            key, uniques = pd.factorize(key)
            size = max(len(uniques), 1)
        key = key * card + enc.qi_codes[qi][level]
        size *= card
    classes, uniques = pd.factorize(key)
    return classes.astype(np.int64), len(uniques)


def _distinct(classes: np.ndarray, n_classes: int, codes: np.ndarray, card: int) -> np.ndarray:
    pairs = pd.unique(classes * card + codes)
    return np.bincount(np.asarray(pairs) // card, minlength=n_classes)


def evaluate(enc: Encoded, node: tuple[int, ...], k: int, l_div: int,
             max_suppression: float) -> tuple[NodeResult, np.ndarray]:
    """The node's figures and the keep-mask of the rows."""
    classes, n_classes = classes_of(enc, node)
    records = np.bincount(classes, minlength=n_classes)
    persons = (_distinct(classes, n_classes, *enc.persons) if enc.persons is not None
               else records)
    ok = persons >= k
    diversity = [_distinct(classes, n_classes, codes, card) for codes, card in enc.sensitive]
    for distinct in diversity:
        ok &= distinct >= l_div
    suppressed = int(records[~ok].sum())
    kept = bool(ok.any())
    result = NodeResult(
        node=node,
        acceptable=suppressed <= max_suppression * enc.rows,
        records=enc.rows,
        suppressed_records=suppressed,
        classes=int(ok.sum()),
        k_persons=int(persons[ok].min()) if kept else None,
        k_records=int(records[ok].min()) if kept else None,
        l_reached=tuple(int(d[ok].min()) if kept else None for d in diversity),
        heights=tuple(lv / top if top else 0.0 for lv, top in zip(node, enc.tops, strict=True)),
        losses=tuple(enc.qi_loss[q][lv] for q, lv in enumerate(node)),
        discernibility=float((records[ok].astype(np.float64) ** 2).sum()
                             + suppressed * float(enc.rows)),
    )
    return result, ok[classes]


@dataclass
class SearchResult:
    best: NodeResult | None
    lattice_size: int
    evaluated: int
    least_suppressed_share: float


def _rank(result: NodeResult) -> tuple[float, float, tuple[int, ...]]:
    return (round(result.information_loss, 12), result.discernibility, result.node)


def _dominates(high: tuple[int, ...], low: tuple[int, ...]) -> bool:
    return all(a >= b for a, b in zip(high, low, strict=True))


def search(enc: Encoded, k: int, l_div: int, max_suppression: float,
           progress: Progress | None = None) -> SearchResult:
    tops = enc.tops
    nodes = sorted(itertools.product(*(range(t + 1) for t in tops)),
                   key=lambda n: (enc.loss(n), sum(n), n))
    found = SearchResult(best=None, lattice_size=len(nodes), evaluated=0,
                         least_suppressed_share=1.0)
    acceptable: list[NodeResult] = []

    def run(node: tuple[int, ...]) -> NodeResult:
        result, _ = evaluate(enc, node, k, l_div, max_suppression)
        found.evaluated += 1
        found.least_suppressed_share = min(found.least_suppressed_share,
                                           result.suppressed_share)
        if progress is not None:
            progress("generalise", found.evaluated, len(nodes))
        return result

    top = run(tuple(tops))
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
