"""The figures of a release's report: k and l per person and per record, persons, records
and rows, every quasi-identifier's level, the gate's figures per attacker, the information lost.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from desensitize.release import hierarchy as h
from desensitize.release import risk
from desensitize.release.lattice import NodeResult, SearchResult
from desensitize.release.prepare import Prepared, ReleaseOptions

RECORDS = "records"


def summary(prep: Prepared, best: NodeResult, found: SearchResult, options: ReleaseOptions,
             rows: pd.DataFrame, released: pd.DataFrame, cells: dict[str, Any],
             figures: risk.GateFigures | None) -> dict[str, Any]:
    plan, qis, enc = prep.plan, prep.qis, prep.enc
    l_per = dict(zip(prep.sensitive_order, best.l_reached, strict=True))
    reached = [v for v in best.l_reached if v is not None]
    dims = [*(qis[d.members[0][0]].output for d in enc.dims),
            *([RECORDS] if enc.records_top is not None else [])]
    kept_persons = best.persons - best.suppressed_persons
    qi_rows = [
        {"column": c.output, "source": c.column, "kind": c.hierarchy.kind,
         "levels": c.hierarchy.describe(), "level": lv, "level_name": c.hierarchy.names[lv],
         "with": c.with_, "loss": enc.qi_loss[q][lv],
         "height": lv / c.hierarchy.top if c.hierarchy.top else 0.0}
        for q, (c, lv) in enumerate(zip(qis, enc.qi_levels(best.node), strict=True))
        if c.hierarchy is not None]
    if enc.records_top is not None:
        lv = best.node[-1]
        qi_rows.append({"column": RECORDS, "source": "(records per released row)",
                        "kind": "count", "levels": h.RECORDS.describe(), "level": lv,
                        "level_name": h.RECORDS.names[lv], "with": None,
                        "loss": lv / enc.records_top, "height": lv / enc.records_top})
    return {
        "k_requested": options.k, "l_requested": options.l_div,
        "k_reached": best.k_persons, "k_reached_records": best.k_records,
        "k_counts": "persons" if plan.person_key else "records",
        "k_over": "each person's set of generalised quasi-identifier rows",
        "l_reached": min(reached) if reached else None, "l_per_column": l_per,
        "records_in": len(rows),
        "records_released": int(best.records - best.suppressed_records),
        "rows_released": len(released),
        "records_suppressed": best.suppressed_records,
        "records_suppressed_share": best.suppressed_records_share,
        "max_suppression": options.max_suppression,
        "persons_in": best.persons, "persons_released": kept_persons,
        "persons_suppressed": best.suppressed_persons,
        "persons_suppressed_share": best.suppressed_share,
        "classes": best.classes,
        "dimensions": dims,
        "quasi_identifiers": qi_rows,
        "sensitive": plan.sensitive,
        "kept": [c.output for c in plan.kept],
        "columns": [{"column": c.column, "output": c.output, "treatment": c.treatment.value,
                     "reason": c.reason, "known_by": list(c.known_by)}
                    for c in plan.columns],
        "removed": [{"column": c.column, "reason": c.reason} for c in plan.removed],
        "risk": figures.as_dict() if figures is not None else None,
        "recipient_class": options.recipient_class,
        "cross_recipient_join_share": (figures.per_attacker.get(risk.OTHER_RECIPIENT, {})
                                       .get("unique_share") if figures else None),
        "information_loss": {
            "information_loss": best.information_loss,
            "generalisation_loss": best.generalisation_loss, "mean_height": best.mean_height,
            "discernibility": best.discernibility,
            "discernibility_normalised": best.discernibility / float(enc.n_persons) ** 2,
            "average_class_size": (kept_persons / best.classes) if best.classes else None,
            "c_avg": (kept_persons / best.classes / options.k) if best.classes else None,
        },
        "search": {"lattice_nodes": found.lattice_size, "evaluated": found.evaluated,
                   "node": list(best.node)},
        "aggregates": cells,
    }
