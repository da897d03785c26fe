"""`hub export` end to end on a 2,000-resident demo home: every dataset, every file, the
report's figures rechecked on the file, and a privacy scan of everything written."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from hub.cli.main import app
from tests.release.conftest import RELEASED, Home, privacy_hits
from tests.release.test_cells import determined

runner = CliRunner()


def _export(home: Home, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("HUB_HOME", str(home.settings.home))
    monkeypatch.setenv("HUB_QUALITY_CHECKS", "false")
    result = runner.invoke(app, ["export", *args])
    return result.exit_code, result.output


def _curated_keys(home: Home) -> set[str]:
    con = duckdb.connect(str(home.settings.warehouse_path), read_only=True,
                         config={"autoinstall_known_extensions": False})
    try:
        return {r[0] for r in con.execute("SELECT resident_key FROM curated.grid").fetchall()}
    finally:
        con.close()


@pytest.fixture(scope="module")
def exported(home: Home, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exports")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for dataset in RELEASED:
            code, output = _export(home, monkeypatch, dataset, "--out",
                                   str(folder / f"{dataset}.csv"), "--recipient", "study-7")
            assert code == 0, output
            assert "released" in output
    return {d: folder / f"{d}.csv" for d in RELEASED}


def test_every_dataset_is_released_with_its_files(exported: dict[str, Path]) -> None:
    for dataset, path in exported.items():
        for name in (path.name, f"{dataset}.aggregates.csv", f"{dataset}.report.json",
                     f"{dataset}.report.html"):
            assert (path.parent / name).is_file(), name
        assert not list(path.parent.glob(".*.tmp"))


@pytest.mark.parametrize("dataset", RELEASED)
def test_the_report_holds_on_the_file(exported: dict[str, Path], dataset: str) -> None:
    """The file-level figures (per-person k and l, the attacks: test_threat_model)."""
    path = exported[dataset]
    report = json.loads(path.with_name(f"{dataset}.report.json").read_text(encoding="utf-8"))
    figures = report["release"]
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    assert len(frame) == figures["rows_released"]
    assert frame["person_key"].nunique() == figures["persons_released"]
    assert figures["persons_suppressed_share"] <= 0.01
    assert figures["risk"]["passed"]
    assert figures["risk"]["worst_share"] <= 0.01
    for q in figures["quasi_identifiers"]:
        if q["level_name"] == "suppressed":
            assert set(frame[q["column"]]) == {"*"}
    cells = figures["aggregates"]
    table = pd.read_csv(path.with_name(f"{dataset}.aggregates.csv"), dtype=str)
    hidden = table["status"] == "suppressed"
    assert len(table) == cells["cells"]
    assert hidden.sum() == cells["primary_suppressed"] + cells["secondary_suppressed"]
    assert table.loc[hidden, "persons"].isna().all()
    category = cells["category"] if cells["category"] != "all" else "category"
    mask = (table.pivot(index="geography", columns=category, values="status") == "suppressed")
    order = lambda labels: sorted(labels, key=lambda v: (v == "TOTAL", v))  # noqa: E731
    mask = mask.loc[order(mask.index), order(mask.columns)]
    assert determined(mask.to_numpy()) == []
    html = path.with_name(f"{dataset}.report.html").read_text(encoding="utf-8")
    assert "k requested / reached" in html
    assert "Linkage risk" in html
    assert "<script" not in html
    assert "http" not in html


def test_nothing_written_holds_an_identifier(exported: dict[str, Path], home: Home) -> None:
    files = sorted(next(iter(exported.values())).parent.iterdir())
    assert len(files) == 4 * len(RELEASED)
    for path in files:
        assert privacy_hits(path.read_bytes(), home) == [], path.name
    # Positive control: the same scan finds identifiers in a department's extract.
    assert privacy_hits(Path(home.demo.datasets["grid"].path).read_bytes(), home)


def test_release_pseudonyms_match_no_hub_key_and_no_other_release(
        exported: dict[str, Path], home: Home, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = set(pd.read_csv(exported["grid"], dtype=str)["person_key"])
    code, output = _export(home, monkeypatch, "grid", "--out", str(tmp_path / "again.parquet"),
                           "--recipient", "study-7")
    assert code == 0, output
    second = set(pd.read_parquet(tmp_path / "again.parquet")["person_key"])
    assert len(first) == len(second) > 1000
    assert not first & second
    assert not (first | second) & _curated_keys(home)


def test_existing_files_and_unknown_formats_are_refused(
        exported: dict[str, Path], home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    target = exported["medical"]
    before = target.read_bytes()
    code, output = _export(home, monkeypatch, "medical", "--out", str(target))
    assert code == 2
    assert "--force" in output
    assert target.read_bytes() == before
    code, output = _export(home, monkeypatch, "medical", "--out", str(target.with_suffix(".xlsx")))
    assert code == 2
    assert ".parquet" in output
    code, output = _export(home, monkeypatch, "nope", "--out", str(target.with_name("n.csv")))
    assert code == 2
    code, output = _export(home, monkeypatch, "medical", "--out", str(target), "--force",
                           "--k", "100000")
    assert code != 0
    assert target.read_bytes() == before


def test_an_impossible_release_says_so(home: Home, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = _export(home, monkeypatch, "medical", "--out", str(tmp_path / "m.csv"),
                           "--k", "1000")
    assert code == 1
    assert "lower k" in output
    assert not list(tmp_path.iterdir())
