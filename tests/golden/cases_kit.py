"""Golden cases: the ways a department's file goes wrong, each as a small real file and what
the hub must make of it (outcome, counts, the reason of a refusal, row issues).

The inputs are derived from the grid and employment golden extracts.
`python -m tests.golden.cases_kit` rewrites inputs and expected files; review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import yaml

from hub.ledger.build import rebuild_ledger
from hub.ledger.current import current_rows_sql
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from tests.golden.golden_kit import GOLDEN, ROOT, write_test_keys

CASES = GOLDEN / "cases"
SOURCES = ROOT / "connectors" / "sources"
ROWS = 12  # data rows of each case


def _grid_rows() -> tuple[list[str], list[list[str]]]:
    with (GOLDEN / "grid" / "input.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:ROWS + 1]


def _csv_bytes(header: list[str], rows: list[list[str]], tail: str = "") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in [header, *rows]:
        writer.writerow(row + ([""] * len(tail) if tail else []))
    return out.getvalue().encode("utf-8")


def _source(fmt: str = "csv", **changes: Any) -> dict[str, Any]:
    spec = yaml.safe_load((SOURCES / "grid.yaml").read_text(encoding="utf-8"))
    spec["format"] = fmt
    for column, extra in changes.pop("columns", {}).items():
        base = spec["columns"][column]
        spec["columns"][column] = {**({"from": base} if isinstance(base, str) else base), **extra}
    spec.update(changes)
    return spec


def _book(sheets: list[tuple[str, str, list[list[Any]]]],
          merges: dict[str, list[str]] | None = None) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    assert book.active is not None
    book.remove(book.active)
    for title, state, rows in sheets:
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        ws.sheet_state = state  # type: ignore[assignment]
        for ref in (merges or {}).get(title, []):
            ws.merge_cells(ref)
    return book


def _household_merged(header: list[str], rows: list[list[str]]
                      ) -> tuple[list[list[Any]], list[str]]:
    """住址 and 户编号 merged down each household, as clerks lay out a registry."""
    cols = [header.index("住址"), header.index("户编号")]
    out = [list(r) for r in rows]
    refs: list[str] = []
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][cols[1]] != rows[start][cols[1]]:
            if i - start > 1:
                for c in cols:
                    letter = openpyxl.utils.get_column_letter(c + 1)
                    refs.append(f"{letter}{start + 2}:{letter}{i + 1}")
                    for r in range(start + 1, i):
                        out[r][c] = None
            start = i
    return out, refs


def build_inputs() -> dict[str, tuple[dict[str, Any], str, Any]]:
    """case -> (source YAML, input file name, bytes or workbook)."""
    header, rows = _grid_rows()
    whole = _csv_bytes(header, rows)
    cases: dict[str, tuple[dict[str, Any], str, Any]] = {}
    cases["truncated_csv"] = (_source(), "input.csv", whole.rstrip(b"\r\n")[:-1])
    cases["trailing_empty_csv"] = (
        _source(), "input.csv",
        _csv_bytes(header, rows, tail="   ") + (b"," * (len(header) + 2) + b"\r\n") * 6)
    bad = whole.split(b"\r\n")
    bad[5] = bad[5].replace(b",", b",\xff", 1)  # line 6: one byte that is not UTF-8
    cases["one_bad_byte_csv"] = (_source(encoding="auto"), "input.csv", b"\r\n".join(bad))
    ids = [list(r) for r in rows]
    sex, born = header.index("性别"), header.index("出生日期")
    ids[0][sex] = "女" if ids[0][sex] == "男" else "男"  # the ID's sex digit disagrees
    ids[1][born] = ids[1][born][:-1] + ("1" if ids[1][born][-1] != "1" else "2")
    ids[2][0] = ids[2][0][:15] + "000"  # rounded by Excel to 15 significant digits
    ids[3][0] = "'" + ids[3][0]
    ids[4][0] = ids[4][0] + "'"
    ids[5][0] = '="' + ids[5][0] + '"'
    cases["rounded_and_wrapped_ids_csv"] = (_source(), "input.csv", _csv_bytes(header, ids))
    jsonl = (GOLDEN / "employment" / "input.jsonl").read_bytes().split(b"\n")[:ROWS]
    employment = yaml.safe_load((SOURCES / "employment.yaml").read_text(encoding="utf-8"))
    cases["truncated_jsonl"] = (employment, "input.jsonl", b"\n".join(jsonl)[:-3])
    table: list[list[Any]] = [header, *rows]
    last_month: list[list[Any]] = [header, *rows[:3]]
    cases["hidden_sheet_xlsx"] = (_source("xlsx"), "input.xlsx", _book(
        [("上月", "hidden", last_month), ("本月", "visible", table)]))
    cases["split_sheets_xlsx"] = (_source("xlsx"), "input.xlsx", _book(
        [("一", "visible", [header, *rows[:6]]), ("二", "visible", [header, *rows[6:]])]))
    merged, refs = _household_merged(header, rows)
    fill = {"address": {"fill_merged": True}, "household_id": {"fill_merged": True}}
    cases["merged_filled_xlsx"] = (_source("xlsx", columns=fill), "input.xlsx", _book(
        [("登记表", "visible", [header, *merged])], {"登记表": refs}))
    cases["merged_not_filled_xlsx"] = (_source("xlsx"), "input.xlsx", _book(
        [("登记", "visible", [header, *merged])], {"登记": refs}))
    return cases


LOAD_STEPS = GOLDEN / "load_modes"


def _with_corrections() -> dict[str, Any]:
    spec = yaml.safe_load((SOURCES / "grid.yaml").read_text(encoding="utf-8"))
    spec["withdraw"] = {"from": "状态", "values": ["撤销"]}
    return spec


def build_load_steps() -> list[tuple[str, str, bytes]]:
    """(step, mode, CSV) of one grid source: a snapshot, a delta that changes three residents
    and adds two, a partial snapshot (held, then discarded), another (held, then confirmed),
    and a delta whose two rows withdraw their residents (corrections, `withdraw`)."""
    header, _ = _grid_rows()
    with (GOLDEN / "grid" / "input.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))[1:ROWS + 3]
    relation = header.index("与户主关系")
    changed = [list(r) for r in rows[:3]]
    for r in changed:
        r[relation] = "其他"
    return [("1_snapshot", "snapshot", _csv_bytes(header, rows[:ROWS])),
            ("2_delta", "delta", _csv_bytes(header, changed + rows[ROWS:ROWS + 2])),
            ("3_partial_snapshot_discarded", "snapshot", _csv_bytes(header, rows[:4])),
            ("4_partial_snapshot_confirmed", "snapshot", _csv_bytes(header, rows[4:8])),
            ("5_delta_withdrawing_two", "delta",
             _csv_bytes([*header, "状态"], [[*r, "撤销"] for r in rows[4:6]]))]


def write_load_steps() -> None:
    shutil.rmtree(LOAD_STEPS, ignore_errors=True)
    LOAD_STEPS.mkdir()
    for step, _, content in build_load_steps():
        (LOAD_STEPS / f"{step}.csv").write_bytes(content)
    (LOAD_STEPS / "grid_with_corrections.yaml").write_text(
        yaml.safe_dump(_with_corrections(), allow_unicode=True, sort_keys=False),
        encoding="utf-8")


def ingest_load_steps(home: Path) -> dict[str, str]:
    """step -> JSON of the batch (outcome, mode, what it replaced) and the current rows."""
    settings = HubSettings(home=home, chunk_rows=1_000, quality_checks=False)
    write_test_keys(settings.keys_dir)
    out: dict[str, str] = {}
    with PipelineWorker(settings) as worker:
        assert worker.warehouse is not None
        for step, mode, _ in build_load_steps():
            source = (LOAD_STEPS / "grid_with_corrections.yaml" if "withdraw" in step
                      else SOURCES / "grid.yaml")
            result = worker.ingest(source, LOAD_STEPS / f"{step}.csv", mode=mode)
            decided = None
            if result.outcome == "awaiting_confirmation":
                decided = worker.decide_held(result.batch_id, "confirmed" in step, "golden",
                                             publish=False)["outcome"]
            rebuild_ledger(worker.warehouse.con)
            replaced = {k: v for k, v in result.replaced.items()
                        if k not in ("current_batches", "summary")}
            current = worker.warehouse.con.execute(
                f"SELECT source_row, resident_key, relation_to_head "
                f"FROM ({current_rows_sql('grid')}) ORDER BY resident_key").fetchall()
            out[step] = json.dumps({
                "outcome": result.outcome, "load_mode": result.load_mode,
                "rows_withdrawn": result.rows_withdrawn,
                "replaced": replaced, "decided": decided,
                "current_rows": [list(map(str, r)) for r in current],
            }, indent=2, ensure_ascii=False) + "\n"
    return out


def write_inputs() -> None:
    shutil.rmtree(CASES, ignore_errors=True)
    for case, (source, name, content) in build_inputs().items():
        folder = CASES / case
        folder.mkdir(parents=True)
        (folder / "source.yaml").write_text(
            yaml.safe_dump(source, allow_unicode=True, sort_keys=False), encoding="utf-8")
        if isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            content.save(folder / name)


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "source.yaml").is_file())


def ingest_cases(home: Path) -> dict[str, dict[str, str]]:
    settings = HubSettings(home=home, chunk_rows=1_000, quality_checks=False)
    write_test_keys(settings.keys_dir)
    out: dict[str, dict[str, str]] = {}
    batches: dict[str, str] = {}
    with PipelineWorker(settings) as worker:
        for case in case_names():
            folder = CASES / case
            extract = next(p for p in folder.iterdir() if p.name.startswith("input."))
            result = worker.ingest(folder / "source.yaml", extract)
            batches[case] = result.batch_id
            summary = {"outcome": result.outcome, "rows_read": result.rows_read,
                       "rows_loaded": result.rows_loaded,
                       "rows_quarantined": result.rows_quarantined,
                       "reason": (result.reason or "").replace(str(folder) + "/", "")}
            out[case] = {"summary": json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                         "findings": json.dumps(result.findings, ensure_ascii=False)}
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for case, batch in batches.items():
            cursor = con.execute(
                "SELECT source_row, column_name, rule, severity FROM quarantine.row_issues "
                "WHERE batch_id = ? ORDER BY ALL", [batch])
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow([d[0] for d in cursor.description or []])
            writer.writerows(cursor.fetchall())
            out[case]["issues"] = text.getvalue()
    finally:
        con.close()
    return out


def regenerate(scratch: Path) -> None:
    write_inputs()
    write_load_steps()
    shutil.rmtree(scratch, ignore_errors=True)
    for case, result in ingest_cases(scratch / "cases").items():
        (CASES / case / "expected_summary.json").write_text(result["summary"], encoding="utf-8")
        (CASES / case / "expected_issues.csv").write_text(result["issues"], encoding="utf-8")
    for step, text in ingest_load_steps(scratch / "steps").items():
        (LOAD_STEPS / f"{step}.expected.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    regenerate(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/golden-cases-home"))
