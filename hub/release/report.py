"""The report of a safe release, as JSON and as an offline HTML page.

It states what the recipient can rely on and what was lost: the k and l reached, the level of
every quasi-identifier, the records and cells suppressed, the information-loss figures, every
column removed and why. It holds counts, column names and level names only: never a value of
any column, a pseudonym or a key. The HTML has no script, no external style and no link.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ExportReport:
    dataset: str
    contract_version: str
    release_id: str
    recipient: str
    created_at: str
    format: str
    files: dict[str, str]  # role -> file name (not the folder)
    release: dict[str, Any]  # figures from desensitize.release
    geography: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def k_reached(self) -> int | None:
        return self.release.get("k_reached")

    @property
    def l_reached(self) -> int | None:
        return self.release.get("l_reached")

    @property
    def records_suppressed_share(self) -> float:
        return float(self.release.get("records_suppressed_share", 0.0))

    @property
    def cells_suppressed_share(self) -> float:
        return float(self.release.get("aggregates", {}).get("suppressed_share", 0.0))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False, default=str)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.2%}"


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.4rem 0}td,th{border:1px solid #bbb;padding:.25rem .6rem;
text-align:left}th{background:#eee}.ok{color:#1a7f37}.note{color:#555;font-size:.9rem}
"""


def render_html(report: ExportReport) -> str:
    r = report.release
    loss = r.get("information_loss", {})
    cells = r.get("aggregates", {})
    l_text = _num(r.get("l_reached")) if r.get("sensitive") else "n/a (no sensitive column)"
    summary = _table(["figure", "value"], [
        ["k requested / reached", f"{r.get('k_requested')} / {_num(r.get('k_reached'))} "
                                  f"(distinct {r.get('k_counts')} per class)"],
        ["l requested / reached", f"{r.get('l_requested')} / {l_text}"],
        ["records in / released", f"{r.get('records_in')} / {r.get('records_released')}"],
        ["records suppressed", f"{r.get('records_suppressed')} "
                               f"({_pct(r.get('records_suppressed_share'))})"],
        ["persons in / released", f"{r.get('persons_in')} / {r.get('persons_released')} "
                                  f"({_pct(r.get('persons_suppressed_share'))} suppressed; at "
                                  f"most {_pct(r.get('max_suppression'))} allowed)"],
        ["equivalence classes", r.get("classes")],
    ])
    qis = _table(["column", "from", "level", "hierarchy", "normalised height", "loss"], [
        [q["column"], q["source"], f"{q['level']}: {q['level_name']}", " > ".join(q["levels"]),
         _num(q["height"]), _num(q.get("loss"))] for q in r.get("quasi_identifiers", [])]) \
        if r.get("quasi_identifiers") else "<p>No quasi-identifier in the contract.</p>"
    diversity = _table(["sensitive column", "distinct values in the smallest class"], [
        [c, _num(v)] for c, v in r.get("l_per_column", {}).items()]) \
        if r.get("l_per_column") else "<p>No sensitive column in the contract.</p>"
    loss_rows = _table(["metric", "value"], [
        ["information loss G x (1 - s) + s", _num(loss.get("information_loss"))],
        ["generalisation loss G (share of each column's distinct values a released value "
         "stands for, less one, averaged)", _num(loss.get("generalisation_loss"))],
        ["mean normalised generalisation height (level / top level)",
         _num(loss.get("mean_height"))],
        ["records suppressed s", _pct(r.get("records_suppressed_share"))],
        ["discernibility (normalised by N squared)", _num(loss.get("discernibility_normalised"),
                                                          6)],
        ["average class size (records)", _num(loss.get("average_class_size"), 1)],
        ["C_avg (average class size / k)", _num(loss.get("c_avg"), 2)],
        ["lattice nodes evaluated / in all", f"{r.get('search', {}).get('evaluated')} / "
                                             f"{r.get('search', {}).get('lattice_nodes')}"],
    ])
    cell_rows = _table(["figure", "value"], [
        ["table", f"{cells.get('geography_level')} x {cells.get('category')} "
                  f"({', '.join(cells.get('measures', []))})"],
        ["cells (with totals) / inner", f"{cells.get('cells')} / {cells.get('inner_cells')}"],
        ["threshold (persons per cell)", cells.get("threshold")],
        ["suppressed: primary", cells.get("primary_suppressed")],
        ["suppressed: secondary", cells.get("secondary_suppressed")],
        ["share of cells suppressed", _pct(cells.get("suppressed_share"))],
    ])
    gate = r.get("risk") or {}
    risk_rows = _table(["attacker", "knows", "persons known", "re-identified uniquely"], [
        [name, ", ".join(a["knows"]), a["persons_known"], _pct(a["unique_share"])]
        for name, a in gate.get("attackers", {}).items()])
    removed = _table(["column", "why"], [[c["column"], c["reason"]] for c in r.get("removed", [])])
    treated = _table(["column", "in the release", "treatment", "why"], [
        [c["column"], c["output"] or "(removed)", c["treatment"], c["reason"]]
        for c in r.get("columns", [])])
    geo = report.geography
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Release {_e(report.release_id)}: {_e(report.dataset)}</title>
<style>{_STYLE}</style></head><body>
<h1>Safe release of <code>{_e(report.dataset)}</code> (contract {_e(report.contract_version)})</h1>
<p>Release <code>{_e(report.release_id)}</code> for <b>{_e(report.recipient)}</b>, created
{_e(report.created_at)}. Pseudonyms in this file belong to this release only: they match no
key of the hub and no other release.</p>
<h2>Privacy reached</h2>{summary}
<h2>Quasi-identifiers (full-domain generalisation)</h2>{qis}
<h2>l-diversity of sensitive columns</h2>{diversity}
<p class="note">A missing value counts as one value.</p>
<h2>Information lost</h2>{loss_rows}
<h2>Linkage risk (measured before release)</h2>{risk_rows}
<p class="note">Allowed at most {_pct(gate.get("threshold"))} per attacker; singling out
{_pct(gate.get("singling_out_share"))} of persons.</p>
<h2>Aggregate table</h2>{cell_rows}
<p class="note">Cells behind fewer persons than the threshold are withheld (primary), then
further cells so that no withheld cell can be recomputed from the totals (secondary). The
file marks both as "suppressed". Computed from the records released. Geography from
{_e(geo.get('source'))}; {_e(geo.get('unmapped_rows', 0))} rows had a grid code the crosswalk
does not map.</p>
<h2>Columns removed</h2>{removed}
<h2>Every column</h2>{treated}
<h2>Files</h2>{_table(["file", "name"], [[k, v] for k, v in report.files.items()])}
</body></html>
"""
