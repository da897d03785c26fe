"""`hub places load`: the place-name table an administrator installs, checked before it
replaces the one in use; a bad table names its row and rule, never a value."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.api.places import place_names
from hub.cli.main import app
from hub.settings import HubSettings
from schemas.errors import ExitCode

GOOD = "code,level,name\n110105001,street,朝阳北路街道\n110105001001,community,朝阳北路社区\n"


def _load(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["places", "load", str(path)])
    return result.exit_code, result.output


def test_a_table_is_installed_and_named_codes_follow_it(settings: HubSettings,
                                                        tmp_path: Path) -> None:
    table = tmp_path / "places.csv"
    table.write_text(GOOD, encoding="utf-8")
    code, output = _load(table)
    assert code == 0, output
    assert "2 place names" in output
    assert place_names(settings) == {"110105001": "朝阳北路街道",
                                     "110105001001": "朝阳北路社区"}


@pytest.mark.parametrize(("content", "where"), [
    (GOOD + "11010500100X,grid,秘密网格名\n", "row 4"),
    (GOOD + "110105001002,community,\n", "row 4"),
    (GOOD + "110105001,street,秘密街道名\n", "row 4"),
    ("编码,名称\n110105001,秘密街道名\n", "header"),
], ids=["code not digits", "empty name", "repeated code", "no code column"])
def test_a_bad_table_names_its_row_and_leaves_the_one_in_use(
        settings: HubSettings, tmp_path: Path, content: str, where: str) -> None:
    table = tmp_path / "places.csv"
    table.write_text(GOOD, encoding="utf-8")
    assert _load(table)[0] == 0
    bad = tmp_path / "new-places.csv"
    bad.write_text(content, encoding="utf-8")
    code, output = _load(bad)
    assert code == ExitCode.BAD_INPUT
    assert where in output
    assert "new-places.csv" in output
    assert "秘密" not in output  # the message never repeats a value of the file
    assert place_names(settings)["110105001"] == "朝阳北路街道"  # the table in use stands
