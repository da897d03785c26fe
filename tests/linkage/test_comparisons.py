"""Each kind of typing error lands on its own comparison level, scored by Splink itself."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from splink import DuckDBAPI, Linker, SettingsCreator

from hub.linkage.comparisons import (
    ADDRESS_LEVELS,
    BIRTH_LEVELS,
    NAME_LEVELS,
    PHONE_LEVELS,
    PLACE_LEVELS,
    birth_levels,
    comparisons,
    field_levels,
    rules,
    string_levels,
)
from hub.linkage.comparisons import level_of as review_level
from hub.linkage.features import FEATURE_COLUMNS, person_features
from hub.linkage.spec import load_spec

BASE = {"unique_id": "a", "name": "王丽华", "gender": "F", "birth_date": "1956-03-08",
        "address": "北京市朝阳区和平路12号3号楼2单元401室", "phone": "13812345678",
        "community_code": "110105001001", "grid_code": "110105001001001"}
ELSE = "different"


@pytest.fixture(scope="module")
def scorer() -> Linker:
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    db = DuckDBAPI(connection=con)
    table = db.register(person_features(pd.DataFrame([BASE])).loc[:, list(FEATURE_COLUMNS)])
    spec = load_spec("registry")
    settings = SettingsCreator(link_type="dedupe_only", comparisons=list(comparisons(spec)),
                               blocking_rules_to_generate_predictions=list(rules(spec.blocking)))
    return Linker(table, settings)


def level_of(scorer: Linker, field: str, labels: tuple, **changes: object) -> str:
    """The label of the level at which `field` agrees between BASE and BASE with `changes`."""
    frame = person_features(pd.DataFrame([BASE, {**BASE, "unique_id": "b", **changes}]))
    left, right = (row._asdict() for row in frame.itertuples(index=False))
    scored = scorer.inference.score_pair(left, right).as_pandas_dataframe()
    gamma = int(scored[f"gamma_{field}"].iloc[0])
    if gamma == -1:
        return "null"
    return ELSE if gamma == 0 else labels[len(labels) - gamma].label


@pytest.mark.parametrize(("name", "expected"), [
    ("王丽华", 0), ("王麗華", 0), ("王　丽 华", 0),          # same, traditional, spaces
    ("王己华", None), ("王莉华", 2), ("王丽", 3), ("王丽小华", 3), ("王力华", 2),
    ("李丽华", 4), ("张伟", ELSE),
])
def test_names(scorer: Linker, name: str, expected: int | str | None) -> None:
    got = level_of(scorer, "name", NAME_LEVELS, name=name)
    if expected is None:  # 丽 has no similar-shape partner: 王己华 is a one-character change
        assert got == NAME_LEVELS[3].label
    else:
        assert got == (expected if isinstance(expected, str) else NAME_LEVELS[expected].label)


def test_similar_shape_and_minority_names(scorer: Linker) -> None:
    base = {**BASE, "name": "王己"}
    frame = person_features(pd.DataFrame([base, {**base, "unique_id": "b", "name": "王已"}]))
    left, right = (row._asdict() for row in frame.itertuples(index=False))
    gamma = int(scorer.inference.score_pair(left, right).as_pandas_dataframe()["gamma_name"][0])
    assert NAME_LEVELS[len(NAME_LEVELS) - gamma].label == NAME_LEVELS[1].label
    dotted = person_features(pd.DataFrame([{"unique_id": "x", "name": "阿依古丽·买买提"},
                                           {"unique_id": "y", "name": "阿依古丽买买提"},
                                           {"unique_id": "z", "name": "阿依古丽•买买提"}]))
    assert dotted["name_simplified"].nunique() == 1


@pytest.mark.parametrize(("born", "expected"), [
    ("1956-03-08", 0), ("1956-08-03", 1), ("1956-03-09", 2), ("1957-03-08", 2),
    ("1956-02-01", 3), ("1955-03-08", 2), ("1956-01-20", 3), ("1970-11-30", ELSE),
])
def test_birth_dates(scorer: Linker, born: str, expected: int | str) -> None:
    got = level_of(scorer, "birth", BIRTH_LEVELS, birth_date=born)
    assert got == (expected if isinstance(expected, str) else BIRTH_LEVELS[expected].label)


def test_year_off_by_one_on_the_same_day_is_a_calendar_slip(scorer: Linker) -> None:
    base = {**BASE, "birth_date": "1956-03-08"}
    frame = person_features(pd.DataFrame([base, {**base, "unique_id": "b",
                                                 "birth_date": "1946-03-08"}]))
    left, right = (row._asdict() for row in frame.itertuples(index=False))
    gamma = int(scorer.inference.score_pair(left, right).as_pandas_dataframe()["gamma_birth"][0])
    assert BIRTH_LEVELS[len(BIRTH_LEVELS) - gamma].label == BIRTH_LEVELS[2].label  # one digit


@pytest.mark.parametrize(("address", "expected"), [
    ("和平路１２號3栋2单元401", 0), ("北京市朝阳区和平路12号3-2-401", 0),
    ("朝阳区和平街12号3号楼2单元401室", 1), ("和平路12号5号楼1单元101室", 2),
    ("建国路7号1号楼1单元101室", ELSE),
])
def test_addresses(scorer: Linker, address: str, expected: int | str) -> None:
    got = level_of(scorer, "address", ADDRESS_LEVELS, address=address)
    assert got == (expected if isinstance(expected, str) else ADDRESS_LEVELS[expected].label)


@pytest.mark.parametrize(("phone", "expected"), [
    ("138 1234 5678", 0), ("+86 13812345678", 0), ("010-12345678", 1), ("13900000000", ELSE),
    (None, "null"),
])
def test_phones(scorer: Linker, phone: str | None, expected: int | str) -> None:
    got = level_of(scorer, "phone", PHONE_LEVELS, phone=phone)
    assert got == (expected if isinstance(expected, str) else PHONE_LEVELS[expected].label)


def test_every_declared_kind_has_a_builder_and_specs_name_only_those(tmp_path: Path) -> None:
    from hub.linkage.comparisons import BUILDERS
    from hub.linkage.spec import KINDS, SPECS, LinkageSpecInvalid

    assert set(BUILDERS) == KINDS
    for path in SPECS.glob("*.yaml"):
        assert {f.kind for f in load_spec(path).fields} <= KINDS
    broken = tmp_path / "broken.yaml"
    broken.write_text("fields: [{name: x, kind: telepathy}]\nblocking: []\ntraining: []\n"
                      "deterministic: []\nrecall: 0.5\n", encoding="utf-8")
    with pytest.raises(LinkageSpecInvalid, match="telepathy"):
        load_spec(broken)


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, 0), ({"grid_code": "110105001001009"}, 1),
    ({"grid_code": "110105002003001", "community_code": "110105002003"}, ELSE),
    ({"grid_code": None, "community_code": None}, "null"),
])
def test_places(scorer: Linker, changes: dict[str, object], expected: int | str) -> None:
    got = level_of(scorer, "place", PLACE_LEVELS, **changes)
    assert got == (expected if isinstance(expected, str) else PLACE_LEVELS[expected].label)


def test_sex_is_exact_and_the_review_labels_follow_the_levels(scorer: Linker) -> None:
    spec = load_spec("registry")
    sex = next(f for f in spec.fields if f.kind == "exact")
    assert level_of(scorer, "sex", field_levels(sex), gender="F") == "same"
    assert level_of(scorer, "sex", field_levels(sex), gender="M") == ELSE
    assert level_of(scorer, "sex", field_levels(sex), gender=None) == "null"
    name = next(f for f in spec.fields if f.kind == "chinese_name")
    assert review_level(name, len(NAME_LEVELS)).zh == "姓名相同"
    assert review_level(name, 1).label == NAME_LEVELS[-1].label
    assert review_level(name, 0).zh == "不同"
    assert review_level(name, -1).zh == "一方缺失"


FEBRL = {"rec_id": "a", "given_name": "jonathan", "surname": "smith",
         "date_of_birth": "19560308", "soc_sec_id": "1234567", "street_number": "12",
         "postcode": "2600", "state": "act", "address_1": "main street"}


@pytest.fixture(scope="module")
def febrl_scorer() -> Linker:
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    db = DuckDBAPI(connection=con)
    spec = load_spec("febrl4")
    settings = SettingsCreator(link_type="dedupe_only", unique_id_column_name="rec_id",
                               comparisons=list(comparisons(spec)),
                               blocking_rules_to_generate_predictions=list(rules(spec.blocking)))
    return Linker(db.register(pd.DataFrame([FEBRL])), settings)


def _febrl_level(scorer: Linker, field: str, levels: tuple, **changes: object) -> str:
    scored = scorer.inference.score_pair(FEBRL, {**FEBRL, "rec_id": "b", **changes})
    gamma = int(scored.as_pandas_dataframe()[f"gamma_{field}"].iloc[0])
    return ELSE if gamma == 0 else levels[len(levels) - gamma].label


@pytest.mark.parametrize(("given", "expected"), [
    ("jonathan", 0), ("jonahtan", 1), ("jonathn", 1), ("jnoathn", 2), ("jonathon", 1),
    ("jonatha", 1), ("jonathanxx", 2), ("mary", ELSE),
])
def test_latin_strings(febrl_scorer: Linker, given: str, expected: int | str) -> None:
    levels = string_levels("given_name")
    got = _febrl_level(febrl_scorer, "given_name", levels, given_name=given)
    assert got == (expected if isinstance(expected, str) else levels[expected].label)


@pytest.mark.parametrize(("born", "expected"), [
    ("19560308", 0), ("19560803", 1), ("19560309", 2), ("19560201", 3), ("19701130", ELSE),
])
def test_digit_dates(febrl_scorer: Linker, born: str, expected: int | str) -> None:
    levels = birth_levels("date_of_birth")
    got = _febrl_level(febrl_scorer, "date_of_birth", levels, date_of_birth=born)
    assert got == (expected if isinstance(expected, str) else levels[expected].label)
