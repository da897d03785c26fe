"""Every kind of page the hub writes comes from its template in the one layout, escapes what
departments named, and renders in a real browser with no request beyond its own file."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from hub.pages.environment import page_environment
from hub.quality.report_html import render_batch, render_dataset, render_overview
from hub.release.report import ExportReport, render_html

HOSTILE = '"><script>alert(1)</script>'
ESCAPED = "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
PAGE_TEMPLATES = {"batch": "quality/batch.html", "dataset": "quality/dataset.html",
                  "overview": "quality/overview.html", "release": "release/report.html"}
EXTERNAL = re.compile(r"(?i)(https?:|ftp:|//[a-z0-9.-]+\.[a-z]{2,}|url\(|@import|<script|"
                      r"<link|<img|<iframe|src\s*=)")
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def _batch(name: str) -> dict[str, Any]:
    return {"batch_id": f"{name}-1", "dataset": name, "department": name, "source": name,
            "contract_version": "1.0.0", "outcome": "loaded", "as_of": "2026-11-30",
            "evaluated_at": "2026-12-01T08:00:00+00:00", "rows_read": 200,
            "rows_loaded": 190, "rows_quarantined": 10, "seconds": 1.5, "score": 93.25,
            "score_note": name,
            "quarantine": [{"column": name, "rule": name, "severity": "error", "rows": 10}],
            "expectations": [
                {"id": name, "kind": "contract", "type": "expect_column_values_to_not_be_null",
                 "column": name, "success": False, "unexpected_count": 4,
                 "unexpected_share": 0.02, "observed": None, "description": name},
                {"id": "rows", "kind": "completeness", "type": None, "column": None,
                 "success": None, "observed": 190, "description": "rows"}]}


def _detail(name: str) -> dict[str, Any]:
    return {"name": name, "title": name, "description": name, "owner": name,
            "sharing": "conditional", "current_version": "1.0.0", "legal_basis": name,
            "update_frequency_days": 30, "quality_score": 93.25, "open_findings": 1,
            "freshness": {"status": "overdue", "lag_days": 45, "as_of": "2026-10-17"},
            "quality_history": [{"score": 90, "evaluated_at": "2026-11-01T08:00:00"},
                                {"score": 93.25, "evaluated_at": "2026-12-01T08:00:00"}],
            "freshness_history": [{"lag_days": 20, "loaded_on": "2026-11-01"},
                                  {"lag_days": 45, "loaded_on": "2026-12-01"}],
            "batch_history": [{"batch_id": f"{name}-1", "source": name,
                               "content_sha256": "ab" * 32, "contract_version": "1.0.0",
                               "rows_read": 200, "rows_loaded": 190, "rows_quarantined": 10,
                               "outcome": "loaded", "as_of": "2026-10-17",
                               "finished_at": "2026-12-01T08:00:02"}],
            "columns": [{"name": name, "curated_name": name, "type": "string",
                         "sensitivity": "ordinary", "sharing": "conditional", "deid": "keep",
                         "description": name}],
            "versions": [{"version": "1.0.0", "registered_at": "2026-10-01T00:00:00",
                          "note": name, "diff": {"added": [name], "removed": [],
                                                 "changed": {}}}]}


def _overview(name: str) -> dict[str, Any]:
    dataset = {"name": name, "owner": name, "current_version": "1.0.0", "batches": 1,
               "update_frequency_days": 30, "quality_score": 93.25, "open_findings": 1,
               "freshness": {"status": "overdue", "as_of": "2026-10-17", "lag_days": 45}}
    return {"today": "2026-12-01", "datasets": [dataset], "open_findings": 1,
            "finding_limit": 200,
            "finding_counts": [{"kind": name, "datasets": [name], "findings": 1}],
            "findings": [{"kind": name, "resident_key": "k" * 16, "departments": [name],
                          "datasets": [name], "detail": name, "first_seen": "2026-12-01"}]}


def _release(name: str) -> ExportReport:
    figures = {
        "k_requested": 5, "k_reached": 7, "k_counts": "persons", "l_requested": 2,
        "l_reached": 2, "sensitive": [name], "l_per_column": {name: 3}, "records_in": 100,
        "records_released": 98, "records_suppressed": 2, "records_suppressed_share": 0.02,
        "max_suppression": 0.05, "persons_in": 60, "persons_released": 59, "classes": 4,
        "quasi_identifiers": [{"column": name, "source": name, "levels": [name, "street"],
                               "level": 1, "level_name": "street", "height": 0.5,
                               "loss": 0.25}],
        "information_loss": {"information_loss": 0.1, "generalisation_loss": 0.08},
        "search": {"evaluated": 3, "lattice_nodes": 4},
        "aggregates": {"geography_level": "street", "category": name, "measures": [name],
                       "cells": 9, "inner_cells": 4, "threshold": 10,
                       "primary_suppressed": 1, "secondary_suppressed": 1,
                       "suppressed_share": 0.22},
        "removed": [{"column": name, "reason": name}],
        "columns": [{"column": name, "output": None, "treatment": "drop", "reason": name}]}
    return ExportReport(dataset=name, contract_version="1.0.0", release_id="rel-1",
                        recipient=name, created_at="2026-12-01T08:00:00+00:00", format="csv",
                        files={"extract": f"{name}.csv"}, release=figures,
                        geography={"source": name, "unmapped_rows": 0})


def _render(kind: str, name: str) -> str:
    if kind == "batch":
        return render_batch(_batch(name))
    if kind == "dataset":
        return render_dataset(_detail(name), {f"{name}-1": f"../batches/{name}-1.html"})
    if kind == "overview":
        return render_overview(_overview(name))
    return render_html(_release(name))


def test_every_page_kind_has_a_template_in_the_one_layout() -> None:
    env = page_environment()
    assert env.loader is not None
    assert {"base.html", "charts.html", *PAGE_TEMPLATES.values()} <= set(env.list_templates())
    for template in PAGE_TEMPLATES.values():
        source = env.loader.get_source(env, template)[0]
        parent = next(line for line in source.splitlines() if line.startswith("{% extends"))
        # base.html, or a frame the console passes (quality pages) that defaults to it
        assert parent in ('{% extends "base.html" %}',
                          '{% extends frame|default("base.html") %}'), template


@pytest.mark.parametrize("kind", sorted(PAGE_TEMPLATES))
def test_page_is_chinese_self_contained_and_escapes_names(kind: str) -> None:
    page = _render(kind, HOSTILE)
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"zh-CN\">")
    assert "@media print" in page  # the one stylesheet, inlined, with its A4 print section
    assert "size:A4" in page
    assert "社区数据中心" in page  # the base layout's footer
    assert HOSTILE not in page
    assert "<script" not in page
    assert ESCAPED in page
    assert not EXTERNAL.findall(page), EXTERNAL.findall(page)[:3]
    for link in re.findall(r'href="([^"]*)"', page):
        assert ":" not in link, link
        assert not link.startswith("/"), link


def test_charts_are_drawn_on_the_pages_that_have_figures() -> None:
    batch = _render("batch", "phone")
    assert batch.count("<svg") == 2  # quarantined rows, checks not met
    assert "各规则隔离行数 quarantined rows per rule" in batch
    dataset = _render("dataset", "phone")
    assert dataset.count("<polyline") == 2  # score and lag over the batches
    assert "承诺 promise 30 d" in dataset  # the promised lag as a threshold line
    assert _render("overview", "phone").count("<svg") == 2


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs the system Chromium (/usr/bin/chromium)")
def test_pages_render_offline_in_chromium_with_names_as_text(browser: Browser,
                                                             tmp_path: Path) -> None:
    files = {}
    for kind in PAGE_TEMPLATES:
        files[kind] = tmp_path / f"{kind}.html"
        files[kind].write_text(_render(kind, HOSTILE), encoding="utf-8")
    page = browser.new_page()
    try:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        for kind, path in files.items():
            page.goto(path.as_uri())
            assert page.locator("script").count() == 0, kind
            assert HOSTILE in page.locator("main").inner_text(), kind
            assert page.evaluate("document.documentElement.lang") == "zh-CN"
            assert page.locator("h1").inner_text().strip(), kind
    finally:
        page.close()
    assert requested == [path.as_uri() for path in files.values()]


def _markup_in_code(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    documented = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, documented) and node.body
                  and isinstance(node.body[0], ast.Expr)}
    # An opening tag; `(?P<a>...)` is a regular expression's named group, not markup.
    tag = re.compile(r"(?<!\?P)<(html|body|head|table|tr|td|th|div|span|svg|p|h[1-6]|a|ul|li)"
                     r"[\s>]")
    return [f"{path.name}:{node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and tag.search(node.value)]


def test_no_markup_is_assembled_in_python(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text('"""A <table> in a docstring is prose."""\n'
                       'row = f"<tr><td>{1}</td></tr>"\n', encoding="utf-8")
    assert _markup_in_code(planted) == ["planted.py:2"]
    packages = ("hub", "catalog", "connectors", "desensitize", "schemas")
    found = [hit for package in packages for path in sorted((ROOT / package).rglob("*.py"))
             for hit in _markup_in_code(path)]
    assert found == []
