"""What a demo run wrote: the extracts, their sources, as-of dates and planted defects.

The manifest is the answer key of the demo: for each dataset it says how many rows carry
each defect and which quarantine rule they must trigger (`rule` null: the hub must repair
them instead), so an end-to-end test can compare the hub's quarantine with it. `findings`
counts the gaps planted on purpose (see FINDINGS). For `duplicate_rows`, `rows` counts the
extra copies: each is an exact repeat of an earlier row of the same extract.

In manifest.json, extract and crosswalk paths are relative to the manifest's folder and
source paths relative to the project root, so the file is the same wherever it was written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from hub.demo.defects import Defect

# connectors/sources, found by path: importing the connectors package (pandas, httpx,
# SQLAlchemy) would cost the generator seconds it otherwise does not need.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SOURCES_DIR = PROJECT_ROOT / "connectors" / "sources"
MANIFEST_NAME = "manifest.json"
FINDINGS = {
    "aged_80_without_age_allowance":
        "residents alive and aged 80+ on the elderly_care as-of date with no age_allowance row",
    "unemployed_6m_without_support":
        "employment rows with status unemployed registered 183+ days before the employment "
        "as-of date whose resident has no unemployment_insurance, training_subsidy or "
        "public_welfare_post row (counted in residents)",
}


def source_path(dataset: str) -> Path:
    return SOURCES_DIR / f"{dataset}.yaml"


def to_date(value: np.datetime64 | date) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(np.asarray(value).astype("datetime64[D]")))


@dataclass(frozen=True)
class DatasetManifest:
    dataset: str
    extract: Path
    source: Path
    rows: int  # data rows written (header excluded)
    as_of: date
    format: str  # csv | xlsx | jsonl
    encoding: str
    defects: dict[str, Defect] = field(default_factory=dict)

    def to_dict(self, base: Path) -> dict[str, Any]:
        return {
            "extract": _relative(self.extract, base),
            "source": _relative(self.source, PROJECT_ROOT),
            "rows": self.rows,
            "as_of": self.as_of.isoformat(),
            "format": self.format,
            "encoding": self.encoding,
            "defects": {k: dict(v) for k, v in self.defects.items()},
        }

    @property
    def path(self) -> Path:
        """The extract (alias of `extract`)."""
        return self.extract

    @property
    def source_yaml(self) -> Path:
        """The source YAML (alias of `source`)."""
        return self.source


@dataclass(frozen=True)
class DemoManifest:
    residents: int
    households: int
    seed: int
    today: date
    datasets: dict[str, DatasetManifest]
    crosswalk: Path
    findings: dict[str, int]

    def to_dict(self, base: Path) -> dict[str, Any]:
        return {
            "residents": self.residents,
            "households": self.households,
            "seed": self.seed,
            "today": self.today.isoformat(),
            "datasets": {k: v.to_dict(base) for k, v in self.datasets.items()},
            "crosswalk": _relative(self.crosswalk, base),
            "findings": self.findings,
        }

    @classmethod
    def load(cls, path: Path) -> DemoManifest:
        return load_manifest(path)

    def write(self, out_dir: Path) -> Path:
        path = out_dir / MANIFEST_NAME
        text = json.dumps(self.to_dict(out_dir), ensure_ascii=False, indent=2)
        path.write_text(text + "\n", encoding="utf-8")
        return path


def load_manifest(path: Path) -> DemoManifest:
    """Read a manifest.json (or the folder holding one) back, with absolute paths."""
    path = path / MANIFEST_NAME if path.is_dir() else path
    raw = json.loads(path.read_text(encoding="utf-8"))
    base = path.parent
    datasets = {
        name: DatasetManifest(
            dataset=name, extract=base / d["extract"], source=PROJECT_ROOT / d["source"],
            rows=d["rows"], as_of=date.fromisoformat(d["as_of"]), format=d["format"],
            encoding=d["encoding"],
            defects={k: Defect(rows=v["rows"], rule=v["rule"])
                     for k, v in d["defects"].items()})
        for name, d in raw["datasets"].items()
    }
    return DemoManifest(
        residents=raw["residents"], households=raw["households"], seed=raw["seed"],
        today=date.fromisoformat(raw["today"]), datasets=datasets,
        crosswalk=base / raw["crosswalk"], findings=raw["findings"])


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()
