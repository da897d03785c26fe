"""The file names of a release, kept apart from the release code so that the API can find a
release's files without importing pandas, pyarrow or the warehouse modules."""

from __future__ import annotations

import os
from pathlib import Path

from hub.release.errors import ExportFormatUnsupported

FORMATS = (".csv", ".parquet")


def output_paths(out: Path) -> dict[str, Path]:
    """The four files of a release written to `out`: extract, aggregates, report JSON/HTML."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ExportFormatUnsupported(suffix, FORMATS)
    stem = out.name[: -len(out.suffix)]
    return {"extract": out,
            "aggregates": out.with_name(f"{stem}.aggregates.csv"),
            "report_json": out.with_name(f"{stem}.report.json"),
            "report_html": out.with_name(f"{stem}.report.html")}


def tmp_path(path: Path) -> Path:
    """Where `path` is written before it is renamed into place (readers never see half)."""
    return path.with_name(f".{path.name}.tmp")


def write_text_atomic(path: Path, text: str) -> None:
    tmp = tmp_path(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
