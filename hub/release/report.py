"""The report of a safe release, as JSON and as an offline HTML page.

It states what the recipient can rely on and what was lost: the k and l reached, the level of
every quasi-identifier, the records and cells suppressed, the information-loss figures, every
column removed and why. It holds counts, column names and level names only: never a value of
any column, a pseudonym or a key. The page (hub/pages/templates/release/report.html) has no
script, no external style and no link.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from hub.pages.environment import render_page


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


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{float(value):.2%}"


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Figure:
    """One row of a table of figures: what it is (Chinese, English) and its value as text."""
    label: str
    label_en: str
    value: Any


@dataclass(frozen=True)
class Section:
    """One section of the report page: a table of figures, or a table of rows under `head`
    (pairs of Chinese and English column names); `empty` is said when there are no rows."""
    heading: str
    heading_en: str
    figures: list[Figure] = field(default_factory=list)
    head: list[tuple[str, str]] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    empty: str = ""
    notes: list[str] = field(default_factory=list)


def _privacy(r: dict[str, Any]) -> Section:
    l_text = _num(r.get("l_reached")) if r.get("sensitive") else "n/a (no sensitive column)"
    return Section("达到的隐私保护", "Privacy reached", figures=[
        Figure("k 要求 / 达到", "k requested / reached",
               f"{r.get('k_requested')} / {_num(r.get('k_reached'))} "
               f"(distinct {r.get('k_counts')} per class)"),
        Figure("l 要求 / 达到", "l requested / reached", f"{r.get('l_requested')} / {l_text}"),
        Figure("记录 输入 / 发布", "records in / released",
               f"{r.get('records_in')} / {r.get('records_released')}"),
        Figure("抑制的记录", "records suppressed",
               f"{r.get('records_suppressed')} ({_pct(r.get('records_suppressed_share'))})"),
        Figure("人员 输入 / 发布", "persons in / released",
               f"{r.get('persons_in')} / {r.get('persons_released')} "
               f"({_pct(r.get('persons_suppressed_share'))} suppressed; at most "
               f"{_pct(r.get('max_suppression'))} allowed)"),
        Figure("等价类", "equivalence classes", r.get("classes")),
    ])


def _generalisation(r: dict[str, Any]) -> list[Section]:
    return [
        Section("准标识符（全域泛化）", "Quasi-identifiers (full-domain generalisation)",
                head=[("列", "column"), ("来源", "from"), ("层级", "level"),
                      ("层级结构", "hierarchy"), ("归一化高度", "normalised height"),
                      ("损失", "loss")],
                rows=[[q["column"], q["source"], f"{q['level']}: {q['level_name']}",
                       " > ".join(q["levels"]), _num(q["height"]), _num(q.get("loss"))]
                      for q in r.get("quasi_identifiers", [])],
                empty="数据契约中没有准标识符。 No quasi-identifier in the contract."),
        Section("敏感列的 l-多样性", "l-diversity of sensitive columns",
                head=[("敏感列", "sensitive column"),
                      ("最小等价类中的不同值个数", "distinct values in the smallest class")],
                rows=[[c, _num(v)] for c, v in r.get("l_per_column", {}).items()],
                empty="数据契约中没有敏感列。 No sensitive column in the contract.",
                notes=["缺失值计为一个值。 A missing value counts as one value."]),
    ]


def _loss(r: dict[str, Any]) -> Section:
    loss = r.get("information_loss", {})
    search = r.get("search", {})
    return Section("信息损失", "Information lost", figures=[
        Figure("信息损失", "information loss G x (1 - s) + s",
               _num(loss.get("information_loss"))),
        Figure("泛化损失 G", "generalisation loss G (share of each column's distinct values a "
               "released value stands for, less one, averaged)",
               _num(loss.get("generalisation_loss"))),
        Figure("平均归一化泛化高度", "mean normalised generalisation height (level / top level)",
               _num(loss.get("mean_height"))),
        Figure("抑制的记录 s", "records suppressed s", _pct(r.get("records_suppressed_share"))),
        Figure("可区分度", "discernibility (normalised by N squared)",
               _num(loss.get("discernibility_normalised"), 6)),
        Figure("平均等价类大小（记录）", "average class size (records)",
               _num(loss.get("average_class_size"), 1)),
        Figure("C_avg", "C_avg (average class size / k)", _num(loss.get("c_avg"), 2)),
        Figure("评估的格节点 / 全部", "lattice nodes evaluated / in all",
               f"{search.get('evaluated')} / {search.get('lattice_nodes')}"),
    ])


def _cells(report: ExportReport) -> Section:
    cells = report.release.get("aggregates", {})
    geo = report.geography
    return Section("汇总表", "Aggregate table", figures=[
        Figure("表", "table", f"{cells.get('geography_level')} x {cells.get('category')} "
                              f"({', '.join(cells.get('measures', []))})"),
        Figure("单元格（含合计）/ 内部", "cells (with totals) / inner",
               f"{cells.get('cells')} / {cells.get('inner_cells')}"),
        Figure("阈值（每格人数）", "threshold (persons per cell)", cells.get("threshold")),
        Figure("抑制：一次", "suppressed: primary", cells.get("primary_suppressed")),
        Figure("抑制：二次", "suppressed: secondary", cells.get("secondary_suppressed")),
        Figure("抑制的单元格比例", "share of cells suppressed",
               _pct(cells.get("suppressed_share"))),
    ], notes=[
        "人数少于阈值的单元格不公布（一次抑制），再抑制更多单元格，使任何不公布的单元格都无法由合计"
        "推算（二次抑制）。文件中两者都标为 \"suppressed\"。按发布的记录计算。",
        "Cells behind fewer persons than the threshold are withheld (primary), then further "
        "cells so that no withheld cell can be recomputed from the totals (secondary). The "
        "file marks both as \"suppressed\". Computed from the records released.",
        f"地理信息来自 {geo.get('source')}；{geo.get('unmapped_rows', 0)} 行的网格编码在对照表中"
        f"没有对应。 Geography from {geo.get('source')}; {geo.get('unmapped_rows', 0)} rows had "
        "a grid code the crosswalk does not map.",
    ])


def _risk(r: dict[str, Any]) -> Section:
    gate = r.get("risk") or {}
    return Section(
        "链接风险（发布前测得）", "Linkage risk (measured before release)",
        head=[("攻击者", "attacker"), ("掌握的信息", "knows"), ("已知人数", "persons known"),
              ("唯一重新识别", "re-identified uniquely")],
        rows=[[name, ", ".join(a["knows"]), a["persons_known"], _pct(a["unique_share"])]
              for name, a in gate.get("attackers", {}).items()],
        empty="未测量 not measured",
        notes=[f"每个攻击者至多允许 {_pct(gate.get('threshold'))}；"
               f"可单独识别（singling out）的人员 {_pct(gate.get('singling_out_share'))}。 "
               f"Allowed at most "
               f"{_pct(gate.get('threshold'))} per attacker; singling out "
               f"{_pct(gate.get('singling_out_share'))} of persons."])


def _columns(report: ExportReport) -> list[Section]:
    r = report.release
    return [
        Section("删除的列", "Columns removed", head=[("列", "column"), ("原因", "why")],
                rows=[[c["column"], c["reason"]] for c in r.get("removed", [])]),
        Section("每一列", "Every column",
                head=[("列", "column"), ("发布中的名称", "in the release"),
                      ("处理方式", "treatment"), ("原因", "why")],
                rows=[[c["column"], c["output"] or "(removed)", c["treatment"], c["reason"]]
                      for c in r.get("columns", [])]),
        Section("文件", "Files", head=[("文件", "file"), ("名称", "name")],
                rows=[[k, v] for k, v in report.files.items()]),
    ]


def report_sections(report: ExportReport) -> list[Section]:
    """The page, section by section; a new figure is one more `Figure` or `Section` here."""
    r = report.release
    return [_privacy(r), _risk(r), *_generalisation(r), _loss(r), _cells(report),
            *_columns(report)]


def render_html(report: ExportReport) -> str:
    return render_page("release/report.html", report=report,
                       sections=report_sections(report))
