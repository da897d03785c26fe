"""Every report renders offline and carries no raw ID number, name or phone of the demo."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from quality_kit import NEW_PHONE, Loaded

from schemas.identity import normalise_phone, normalise_resident_id

URL = re.compile(r"(?i)(https?:|ftp:|//[a-z0-9.-]+\.[a-z]{2,}|url\(|@import|<script|<link|"
                 r"<img|<iframe|src\s*=)")
ID_PATTERN = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
PHONE_PATTERN = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
CHROMIUM = Path("/usr/bin/chromium")


def _identifiers(loaded: Loaded) -> dict[str, set[str]]:
    grid = pd.read_csv(loaded.demo.datasets["grid"].path, dtype=str, encoding="utf-8")
    ids = set(grid["身份证号"].dropna())
    ids |= set(normalise_resident_id(grid["身份证号"], loaded.demo.today).values.dropna())
    phones = set(grid["联系电话"].dropna()) | {NEW_PHONE}
    phones |= set(normalise_phone(grid["联系电话"]).values.dropna())
    return {"id": ids, "name": {n for n in grid["姓名"].dropna() if len(n) >= 2},
            "phone": phones}


def _reports(loaded: Loaded) -> list[Path]:
    return sorted(p for p in loaded.settings.reports_dir.rglob("*")
                  if p.suffix in (".html", ".json"))


def test_reports_have_no_external_url(loaded: Loaded) -> None:
    pages = [p for p in _reports(loaded) if p.suffix == ".html"]
    assert len(pages) >= 4 + 4 + 1  # batches, datasets, overview
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<svg" in text or "datasets" in page.parts, page
        assert not URL.findall(text), (page, URL.findall(text)[:3])


def test_reports_have_no_raw_identifier(loaded: Loaded) -> None:
    needles = _identifiers(loaded)
    # Positive control: the same scan finds them in the department's own extract.
    extract = loaded.demo.datasets["grid"].path.read_text(encoding="utf-8")
    assert set(ID_PATTERN.findall(extract)) & needles["id"]
    assert set(PHONE_PATTERN.findall(extract)) & needles["phone"]
    for report in _reports(loaded):
        text = report.read_text(encoding="utf-8")
        assert "partial_unexpected" not in text, report
        assert not {m.upper() for m in ID_PATTERN.findall(text)} & needles["id"], report
        assert not set(PHONE_PATTERN.findall(text)) & needles["phone"], report
        assert not [n for n in needles["name"] if n in text], report


def _dump_dom(page: Path, tmp_path: Path) -> str:
    profile = tmp_path / f"profile-{page.stem}"
    done = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60, check=True)
    shutil.rmtree(profile, ignore_errors=True)
    return done.stdout


def _figure(dom: str, ident: str) -> str:
    match = re.search(rf'id="{ident}">([^<]*)<', dom)
    assert match, ident
    return match.group(1)


@pytest.mark.skipif(not CHROMIUM.exists(),
                    reason="headless Chromium is not installed (/usr/bin/chromium; Debian "
                           "package `chromium`)")
def test_chromium_renders_overview_and_batch_report(loaded: Loaded, tmp_path: Path) -> None:
    reports = loaded.settings.reports_dir
    dom = _dump_dom(reports / "overview.html", tmp_path)
    assert _figure(dom, "datasets") == "5"
    assert _figure(dom, "overdue") == "1"
    assert int(_figure(dom, "open-findings")) >= 4
    employment = dom.split('href="datasets/employment.html"')[1].split("</tr>")[0]
    assert "overdue" in employment
    assert dom.count("<svg") >= 2
    assert "latest quality score" in dom

    batch = next((reports / "batches").glob("grid-*.html"))
    result = loaded.demo.datasets["grid"]
    dom = _dump_dom(batch, tmp_path)
    quarantined = sum(d["rows"] for d in result.defects.values() if d["rule"])
    assert _figure(dom, "rows-read") == str(result.rows)
    assert _figure(dom, "rows-quarantined") == str(quarantined)
    assert 90 < float(_figure(dom, "score")) <= 100
    assert "quarantined rows per rule" in dom
    assert "phone:format" in dom
