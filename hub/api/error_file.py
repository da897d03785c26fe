"""The clerk's error file of an upload: every row issue with the source row number, the
department's own column header, the rule, what it means and how to fix it at source.

Built from the row issues the state store keeps per upload (never a cell value), as CSV
(UTF-8 with a BOM, so that Excel opens it in Chinese) or XLSX.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from connectors.source import SourceSpec
from schemas.issues import ROW_COLUMN
from schemas.rule_labels import describe

HEADER = ["源文件行号", "列（本部门表头）", "级别", "规则", "说明", "如何在源头修改"]
_SEVERITY = {"error": "错误（该行未入库）", "warning": "提示（该行已入库）"}


def department_header(spec: SourceSpec, column: str) -> str:
    """The header the department's file uses for a contract column."""
    if column == ROW_COLUMN:
        return "（整行）"
    mapping = spec.mapping(column)
    if mapping is None or mapping.from_ is None:
        return column
    return mapping.from_


def error_rows(spec: SourceSpec, issues: Iterable[dict[str, Any]]) -> Iterator[list[str]]:
    for issue in issues:
        explanation, hint = describe(str(issue["rule"]))
        yield [str(issue["source_row"]), department_header(spec, str(issue["column"])),
               _SEVERITY.get(str(issue["severity"]), str(issue["severity"])),
               str(issue["rule"]), explanation, hint]


def as_csv(rows: Iterable[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def as_xlsx(rows: Iterable[list[str]]) -> bytes:
    import openpyxl  # at first use: an API worker seldom writes a workbook

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("问题行")
    sheet.append(HEADER)
    for row in rows:
        sheet.append([int(row[0]), *row[1:]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
