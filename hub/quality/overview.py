"""Write the quality reports under HUB_HOME/reports/ (or another folder) from the state store.

Layout: batches/<batch_id>.json|.html, datasets/<dataset>.json|.html, overview.json|.html and
findings.json. Reports are rendered from what the worker stored (value-free results and
findings) and the catalog, so writing them needs no warehouse lock and can run while the
worker ingests.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from catalog.detail import dataset_detail, dataset_list
from catalog.quality_store import QualityStore
from catalog.store import CatalogStore
from hub.quality.correction_counts import correction_counts
from hub.quality.report_html import render_batch, render_dataset, render_overview
from hub.settings import HubSettings
from hub.state.migrate import open_state_store

FINDING_LIMIT = 200  # per kind on the overview page; findings.json has them all
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _name(text: str) -> str:
    return _UNSAFE.sub("_", text)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # readers never see half a report
    return path


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n"


def write_batch_report(result: dict[str, Any], out_dir: Path) -> list[Path]:
    base = out_dir / "batches" / _name(result["batch_id"])
    return [_write(base.with_suffix(".json"), _json(result)),
            _write(base.with_suffix(".html"), render_batch(result))]


def build_overview(catalog: CatalogStore, quality: QualityStore, today: date,
                   finding_limit: int = FINDING_LIMIT) -> dict[str, Any]:
    datasets = dataset_list(catalog, today)
    findings = quality.list_findings()
    for d in datasets:
        d["open_findings"] = sum(1 for f in findings if d["name"] in f["datasets"])
    shown: list[dict[str, Any]] = []
    per_kind: dict[str, int] = {}
    for f in findings:
        per_kind[f["kind"]] = per_kind.get(f["kind"], 0) + 1
        if per_kind[f["kind"]] <= finding_limit:
            shown.append(f)
    return {"today": today.isoformat(), "datasets": datasets,
            "corrections": correction_counts(catalog.engine, today),
            "open_findings": len(findings), "finding_counts": quality.finding_counts(),
            "finding_limit": finding_limit, "findings": shown}


def write_dataset_report(catalog: CatalogStore, name: str, today: date,
                         out_dir: Path) -> list[Path]:
    detail = dataset_detail(catalog, name, today)
    links = {b["batch_id"]: f"../batches/{_name(b['batch_id'])}.html"
             for b in detail["batch_history"]
             if (out_dir / "batches" / f"{_name(b['batch_id'])}.html").exists()}
    base = out_dir / "datasets" / _name(name)
    return [_write(base.with_suffix(".json"), _json(detail)),
            _write(base.with_suffix(".html"), render_dataset(detail, links))]


def write_overview(catalog: CatalogStore, quality: QualityStore, today: date,
                   out_dir: Path) -> list[Path]:
    overview = build_overview(catalog, quality, today)
    return [_write(out_dir / "overview.json", _json(overview)),
            _write(out_dir / "overview.html", render_overview(overview)),
            _write(out_dir / "findings.json", _json(quality.list_findings()))]


def write_quality_reports(settings: HubSettings, dataset: str | None = None,
                          out_dir: Path | None = None, today: date | None = None
                          ) -> list[Path]:
    """Every batch report, dataset page and (without `dataset`) the district overview.

    Raises `catalog.errors.DatasetUnknown` for a dataset the catalog does not know."""
    today = today or date.today()
    out = out_dir or settings.reports_dir
    engine = open_state_store(settings.resolved_state_url)
    try:
        catalog = CatalogStore(engine)
        quality = QualityStore(engine)
        names = [dataset] if dataset else [d["name"] for d in catalog.list_datasets()]
        if dataset:
            catalog.get_dataset(dataset)  # DatasetUnknown before anything is written
        written: list[Path] = []
        for result in quality.batch_results(dataset):
            written += write_batch_report(result, out)
        for name in names:
            written += write_dataset_report(catalog, name, today, out)
        if dataset is None:
            written += write_overview(catalog, quality, today, out)
        return written
    finally:
        engine.dispose()
