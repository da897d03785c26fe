"""Identity rules: resident IDs as real extracts carry them, phones and grid codes."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemas_kit import TODAY, make_id
from stdnum.cn.ric import calc_check_digit

from schemas._areas import area_table
from schemas.identity import (
    birth_date_from_id,
    gender_from_id,
    normalise_grid_code,
    normalise_phone,
    normalise_resident_id,
)

LOST_X = "11010519491231002X"  # a real-format ID whose check character is X
DIGIT_ID = make_id(seq="003")  # ...and one whose check character is a digit
assert DIGIT_ID[-1].isdigit()
assert make_id() == LOST_X


def _one(raw: object, today: date = TODAY) -> tuple[object, object, object]:
    r = normalise_resident_id(pd.Series([raw], index=[7], dtype="object"), today)
    assert list(r.values.index) == [7]
    return r.values.iloc[0], r.error.iloc[0], r.warning.iloc[0]


def _na(x: object) -> bool:
    return x is pd.NA


@pytest.mark.parametrize(
    ("raw", "expected", "warning"),
    [
        pytest.param(LOST_X, LOST_X, None, id="canonical"),
        pytest.param("11010519491231002x", LOST_X, None, id="lower-x"),
        pytest.param("１１０１０５１９４９１２３１００２Ｘ", LOST_X, None, id="full-width"),
        pytest.param("１１０１０５１９４９１２３１００２ｘ", LOST_X, None, id="full-width-lower-x"),
        pytest.param(" 110105 1949 1231 002X ", LOST_X, None, id="spaces"),
        pytest.param("110105-19491231-002x", LOST_X, None, id="hyphens"),
        pytest.param("110105\u300019491231002X", LOST_X, None, id="ideographic-space"),
        pytest.param(DIGIT_ID + ".0", DIGIT_ID, None, id="excel-dot-zero"),
        pytest.param("11010519491231002", LOST_X, "resident_id:x_restored", id="lost-x"),
        pytest.param("110105491231002", LOST_X, "resident_id:upgraded_15", id="legacy-15"),
        pytest.param("110105491231002.0", LOST_X, "resident_id:upgraded_15", id="legacy-15-dot-0"),
    ],
)
def test_recoverable_ids_normalise(raw: str, expected: str, warning: str | None) -> None:
    value, error, warn = _one(raw)
    assert value == expected
    assert _na(error)
    if warning is None:
        assert _na(warn)
    else:
        assert warn == warning


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        pytest.param(None, "resident_id:missing", id="none"),
        pytest.param("", "resident_id:missing", id="empty"),
        pytest.param("   ", "resident_id:missing", id="blank"),
        pytest.param("1.10105E+17", "resident_id:excel_numeric", id="scientific"),
        pytest.param("1.10105e+17", "resident_id:excel_numeric", id="scientific-lower"),
        pytest.param(DIGIT_ID[:17], "resident_id:format", id="17-digits-check-not-x"),
        pytest.param(DIGIT_ID + "1", "resident_id:format", id="19-digits"),
        pytest.param("11010519491231X02X", "resident_id:format", id="x-inside"),
        pytest.param("ABCDEFGHIJKLMNOPQR", "resident_id:format", id="letters"),
        pytest.param(DIGIT_ID[:17] + "X", "resident_id:check_character", id="wrong-check"),
        pytest.param(make_id(birth="19490230"), "resident_id:birth_date", id="feb-30"),
        pytest.param(make_id(birth="19491301"), "resident_id:birth_date", id="month-13"),
        pytest.param(make_id(birth="20250616"), "resident_id:birth_date", id="future"),
        pytest.param(make_id(birth="18991231"), "resident_id:birth_date", id="before-1900"),
    ],
)
def test_unrecoverable_ids_are_errors(raw: str | None, rule: str) -> None:
    value, error, warn = _one(raw)
    assert error == rule
    assert _na(value)
    assert _na(warn)


def test_leap_day_and_today_are_real_birth_dates() -> None:
    for birth in ("20000229", TODAY.strftime("%Y%m%d")):
        assert _na(_one(make_id(birth=birth))[1])
    assert _one(make_id(birth="19000229"))[1] == "resident_id:birth_date"  # 1900: no leap


def test_unknown_area_code_warns_but_passes() -> None:
    value, error, warn = _one(make_id(area="999999"))
    assert value == make_id(area="999999")
    assert _na(error)
    assert warn == "resident_id:area_code"


def test_area_code_warns_only_when_it_never_existed() -> None:
    # 110115 (Daxing district) has existed since 2001: people born before carry it, since an
    # ID has the code of the place that issued it.
    assert _na(_one(make_id(area="110115", birth="19800101"))[2])
    assert _na(_one(make_id(area="110115", birth="20050101"))[2])
    assert _one(make_id(area="119999", birth="19800101"))[2] == "resident_id:area_code"


def test_results_align_to_the_source_row_index() -> None:
    idx = pd.Index([9, 3, 100], dtype="int64")
    raw = pd.Series([LOST_X, "bad", "110105491231002"], index=idx, dtype="string")
    r = normalise_resident_id(raw, TODAY)
    for part in (r.values, r.error, r.warning):
        assert part.index.equals(idx)
        assert str(part.dtype) == "string"
    assert r.ok.tolist() == [True, False, True]


def test_birth_date_and_gender_from_id() -> None:
    ids = pd.Series([make_id(seq="001"), make_id(seq="002"), None, "bad"], dtype="string")
    born = birth_date_from_id(ids)
    assert str(born.dtype) == "datetime64[s]"
    assert born.iloc[0] == pd.Timestamp("1949-12-31")
    assert born.iloc[2:].isna().all()
    assert gender_from_id(ids).tolist()[:2] == ["M", "F"]
    assert gender_from_id(ids).iloc[2:].isna().all()


# --- properties ---------------------------------------------------------------------------

_CODES = np.unique(area_table()[0]).astype(str).tolist()
areas = st.sampled_from(_CODES)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
seqs = st.integers(0, 999).map(lambda n: f"{n:03d}")
valid_ids = st.builds(lambda a, b, s: make_id(a, b.strftime("%Y%m%d"), s), areas, births, seqs)
_FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(valid_ids, min_size=1, max_size=20))
def test_valid_ids_normalise_to_themselves(ids: list[str]) -> None:
    r = normalise_resident_id(pd.Series(ids, dtype="string"), TODAY)
    assert r.values.tolist() == ids
    assert r.error.isna().all()


@settings(max_examples=300)
@given(valid_ids, st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(good: str, pos: int, shift: int) -> None:
    digit = str((int(good[pos]) + shift) % 10)
    changed = good[:pos] + digit + good[pos + 1 :]
    assert _one(changed)[1] == "resident_id:check_character"


@settings(max_examples=200)
@given(valid_ids, st.data())
def test_formatting_variants_normalise_to_the_same_value(good: str, data: st.DataObject) -> None:
    chars = list(good)
    for i in data.draw(st.sets(st.integers(0, 17)), label="full-width positions"):
        chars[i] = chars[i].translate(_FULL)
    if data.draw(st.booleans(), label="lower-case x"):
        chars = [c.lower() for c in chars]
    for i in sorted(data.draw(st.sets(st.integers(1, 17)), label="separators"), reverse=True):
        chars.insert(i, data.draw(st.sampled_from([" ", "-", "\u3000", "－"])))
    variant = " " + "".join(chars) + " "
    assert _one(variant)[0] == good


@settings(max_examples=200)
@given(areas, st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), seqs)
def test_fifteen_digit_upgrade_gives_a_valid_id(area: str, born: date, seq: str) -> None:
    legacy = area + born.strftime("%y%m%d") + seq
    value, error, warn = _one(legacy)
    assert _na(error)
    assert warn == "resident_id:upgraded_15"
    assert isinstance(value, str)
    assert value[:6] == area
    assert value[6:14] == born.strftime("%Y%m%d")
    assert value[-1] == calc_check_digit(value)
    assert _one(value)[0] == value  # the upgraded ID is a valid ID in its own right


# --- phones and grid codes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("(021) 8765 4321", "021-87654321"),
        ("0755-1234567", "0755-1234567"),
        ("075512345678", "0755-12345678"),
        ("+86 10 1234 5678", "010-12345678"),
    ],
)
def test_phones_normalise(raw: str, expected: str) -> None:
    r = normalise_phone(pd.Series([raw], dtype="string"))
    assert r.values.iloc[0] == expected
    assert _na(r.error.iloc[0])


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "138123456789", "12345", "电话"])
def test_bad_phones_are_format_errors(raw: str) -> None:
    r = normalise_phone(pd.Series([raw], dtype="string"))
    assert r.error.iloc[0] == "phone:format"
    assert _na(r.values.iloc[0])


def test_empty_phone_is_missing_not_an_error() -> None:
    r = normalise_phone(pd.Series([None, "  "], dtype="string"))
    assert r.values.isna().all()
    assert r.error.isna().all()


def test_standard_grid_codes() -> None:
    raw = pd.Series(["110105001001001", " 110105-001-001-001 ", "110105001001001.0",
                     "１１０１０５００１００１００１", "110105001001", "11010500100100A", None])
    r = normalise_grid_code(raw, "standard")
    assert r.values.tolist()[:4] == ["110105001001001"] * 4
    assert r.error.tolist()[4:6] == ["grid_code:format"] * 2
    assert r.error.isna().tolist() == [True] * 4 + [False, False, True]


def test_department_grid_codes_are_cleaned_not_judged() -> None:
    raw = pd.Series([" ｗｅｓｔ-03 ", "Area 7", "", None])
    r = normalise_grid_code(raw, "civil_affairs_service_area")
    assert r.values.tolist()[:2] == ["WEST-03", "AREA 7"]
    assert r.values.iloc[2:].isna().all()
    assert r.error.isna().all()


def test_future_birth_date_depends_on_today() -> None:
    tomorrow = TODAY + timedelta(days=1)
    raw = make_id(birth=tomorrow.strftime("%Y%m%d"))
    assert _one(raw, TODAY)[1] == "resident_id:birth_date"
    assert _na(_one(raw, tomorrow)[1])
