"""One safe release of one dataset: the de-identified extract, its aggregate table and the
figures of its report. Pure: rows in, frames and numbers out (the hub reads and writes).

Steps: plan the columns from the contract's release classification (column_plan), derive
group sizes, search the lattice of generalisation levels for k-anonymity and l-diversity over
persons with the linkage gate of every attacker (lattice, risk), suppress the persons of the
classes still too small, collapse each person's identical generalised rows into one row with
the count of records it stands for, replace the resident pseudonym by the release pseudonym
(pseudonyms), shuffle, and build the aggregate table from the persons kept, suppressed so that
neither its totals nor the extract beside it give a suppressed cell away (aggregate).

The generalisation depends only on the rows and the options, never on the recipient, so two
recipients of the same dataset get identical content under unrelated pseudonyms: joining
their copies on content is the "another recipient" attacker of the gate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from desensitize.release import hierarchy as h
from desensitize.release import risk
from desensitize.release.column_plan import (
    PERSON_KEY,
    Treatment,
)
from desensitize.release.errors import (
    ReleaseEmpty,
    ReleaseNotPossible,
    ReleaseRiskTooHigh,
)
from desensitize.release.figures import RECORDS
from desensitize.release.figures import summary as figures_of
from desensitize.release.lattice import (
    NodeState,
    Progress,
    SearchResult,
    evaluate,
    search,
)
from desensitize.release.prepare import Prepared, ReleaseOptions, prepare
from desensitize.release.pseudonyms import release_pseudonyms
from desensitize.release.release_table import (
    release_table,
)
from schemas.spec import ContractSpec


@dataclass
class Release:
    frame: pd.DataFrame
    aggregates: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def _shuffle_key(options: ReleaseOptions) -> int:
    seed = hashlib.sha256(f"{options.recipient}/{options.release_id}".encode()).digest()
    return int.from_bytes(seed[:8], "big")


def _refuse(contract: ContractSpec, prep: Prepared, found: SearchResult,
            options: ReleaseOptions) -> ReleaseNotPossible:
    figures = found.refused_by_gate
    top = found.top
    if isinstance(figures, risk.GateFigures) and top is not None and top.gate is not None:
        worst = str(figures.worst)
        attacker = next((a for a in prep.attackers if a.name == worst), None)
        blame = risk.columns_to_blame(prep.plan, attacker) if attacker else []
        return ReleaseRiskTooHigh(contract.name, worst, figures.worst_share,
                                  options.risk_threshold, options.recipient_class, blame)
    return ReleaseNotPossible(contract.name, options.k, options.l_div, options.max_suppression,
                              prep.enc.n_persons, found.least_suppressed_share,
                              top.k_persons if top else None,
                              min((v for v in top.l_reached if v is not None), default=None)
                              if top else None)


def _released_frame(rows: pd.DataFrame, prep: Prepared, state: NodeState, master_key: bytes,
                    options: ReleaseOptions) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per released row group of the kept persons; and the keep-mask of the rows."""
    enc = prep.enc
    keep = state.kept_persons[enc.persons]
    first = pd.Series(np.arange(enc.rows))[keep].groupby(state.group[keep]).first()
    take = first.to_numpy()
    out: dict[str, pd.Series] = {}
    chosen = {c.output: prep.levels[q][lv]
              for q, (c, lv) in enumerate(zip(prep.qis, state.qi_levels, strict=True))}
    for column in prep.plan.columns:
        if column.output is None:
            continue
        if column.treatment == Treatment.PSEUDONYM:
            out[PERSON_KEY] = release_pseudonyms(rows[column.column].iloc[take], master_key,
                                                 options.recipient, options.release_id)
        elif column.hierarchy is not None:
            out[str(column.output)] = chosen[column.output].iloc[take]
        else:
            out[str(column.output)] = rows[column.column].iloc[take]
    if enc.records_top is not None:
        counts = pd.Series(state.group_count[first.index.to_numpy()])
        out[RECORDS] = h.RECORDS.generalise(counts, state.node[-1])
    released = pd.DataFrame({k: v.reset_index(drop=True) for k, v in out.items()})
    order = np.random.default_rng(_shuffle_key(options)).permutation(len(released))
    released = released.iloc[order]
    if PERSON_KEY in released.columns:
        released = released.sort_values(PERSON_KEY, kind="stable")
    return released.reset_index(drop=True), keep


def build_release(rows: pd.DataFrame, contract: ContractSpec, master_key: bytes,
                  options: ReleaseOptions, geography: pd.Series | None = None,
                  progress: Progress | None = None) -> Release:
    """The release of `rows` (current curated rows of `contract`, grid codes standard)."""
    options.check()
    if rows.empty:
        raise ReleaseEmpty(contract.name)
    rows = rows.reset_index(drop=True)
    geography = geography.reset_index(drop=True) if geography is not None else None
    prep = prepare(rows, contract, options, geography)

    def gate(state: NodeState) -> tuple[bool, object]:
        figures = risk.gate(prep.enc, prep.plan, state, prep.attackers, options.risk_threshold)
        return figures.passed, figures

    found = search(prep.enc, options.k, options.l_div, options.max_suppression, gate, progress)
    if found.best is None:
        raise _refuse(contract, prep, found, options)
    best, state = evaluate(prep.enc, found.best.node, options.k, options.l_div,
                           options.max_suppression)
    released, keep = _released_frame(rows, prep, state, master_key, options)
    aggregates, cell_stats = release_table(
        rows[keep], contract, prep.plan, state,
        geography[keep] if geography is not None else None, options.geography_level,
        options.cell_threshold)
    gate_figures = found.best.gate
    summary = figures_of(prep, best, found, options, rows, released, cell_stats,
                         gate_figures if isinstance(gate_figures, risk.GateFigures) else None)
    return Release(released, aggregates, summary)


