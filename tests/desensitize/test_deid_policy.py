"""The de-identification policy applied to contract frames."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from desensitize.deidentify import VAULT_COLUMNS, Deidentifier
from desensitize.errors import FrameColumnMissing, NoIdentityColumn, VaultResidentMissing
from desensitize.keys import KeyRing
from desensitize.pseudonym import Pseudonymiser
from desensitize.vault import VaultCipher
from schemas.registry import get_contract
from schemas.spec import ContractSpec

GRID = get_contract("grid")
ELDERLY = get_contract("elderly_care")
GRID_CURATED = [
    "resident_key",
    "gender",
    "birth_year",
    "household_key",
    "relation_to_head",
    "grid_code",
    "special_groups",
    "date_of_death",
    "as_of",
]
VAULT_FIELDS = ["resident_id", "name", "phone", "address", "household_id"]
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(area: str, born: dt.date, seq: int) -> str:
    """A valid GB 11643 number: 17 digits and the ISO 7064 MOD 11-2 check character."""
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def test_resident_id_helper_makes_valid_numbers() -> None:
    assert resident_id("110105", dt.date(1949, 12, 31), 2) == "11010519491231002X"
    assert ric.is_valid(resident_id("440304", dt.date(2012, 3, 7), 15))


def _dates(values: list[dt.date | None]) -> pd.Series:
    return pd.Series(values, dtype="datetime64[s]")


def _text(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="string")


@dataclass(frozen=True)
class Person:
    resident_id: str
    name: str
    gender: str
    birth_date: dt.date
    phone: str | None
    address: str
    household_id: str


def grid_frame(people: list[Person], index: list[int]) -> pd.DataFrame:
    """A validated grid frame as connectors hand it over: typed, indexed by source row."""
    n = len(people)
    columns = {
        "resident_id": _text([p.resident_id for p in people]),
        "name": _text([p.name for p in people]),
        "gender": _text([p.gender for p in people]),
        "birth_date": _dates([p.birth_date for p in people]),
        "phone": _text([p.phone for p in people]),
        "address": _text([p.address for p in people]),
        "household_id": _text([p.household_id for p in people]),
        "relation_to_head": _text(["head"] * n),
        "grid_code": _text(["110105001002003"] * n),
        "special_groups": _text(["disabled;veteran"] * n),
        "as_of": _dates([dt.date(2025, 5, 31)] * n),
    }
    return pd.DataFrame(
        {k: v.array for k, v in columns.items()}, index=pd.Index(index, dtype="int64")
    )


def person(area: str, born: dt.date, seq: int, name: str, phone: str | None) -> Person:
    return Person(
        resident_id=resident_id(area, born, seq),
        name=name,
        gender="M" if seq % 2 else "F",
        birth_date=born,
        phone=phone,
        address=f"朝阳区幸福路{seq}号",
        household_id=f"H{seq:05d}",
    )


ZHANG = person("110105", dt.date(1949, 12, 31), 2, "张三", "13812345678")
OUYANG = person("440304", dt.date(2012, 3, 7), 15, "欧阳娜娜", None)


# ---- shape of the curated frame -------------------------------------------------------------


def test_grid_curated_columns_types_and_index(deidentifier: Deidentifier) -> None:
    frame = grid_frame([ZHANG, OUYANG], [2, 5])
    result = deidentifier.apply(GRID, frame)
    curated = result.curated
    assert list(curated.columns) == GRID_CURATED
    assert list(curated.index) == [2, 5]
    assert curated["resident_key"].dtype == "string"
    assert curated["resident_key"].str.fullmatch(r"[0-9a-f]{32}").all()
    assert curated["birth_year"].dtype == "Int16"
    assert curated["birth_year"].tolist() == [1949, 2012]
    assert curated["household_key"].dtype == "string"
    assert curated["household_key"].iloc[0] != frame["household_id"].iloc[0]
    assert curated["date_of_death"].dtype == "datetime64[s]"  # optional, absent: typed NA
    assert curated["date_of_death"].isna().all()
    pd.testing.assert_series_equal(curated["as_of"], frame["as_of"])
    pd.testing.assert_series_equal(curated["special_groups"], frame["special_groups"])


def test_keep_columns_pass_unchanged_and_money_stays_fen(deidentifier: Deidentifier) -> None:
    frame = pd.DataFrame(
        {
            "resident_id": pd.array([ZHANG.resident_id] * 2, dtype="string"),
            "name": pd.array(["张三"] * 2, dtype="string"),
            "program": pd.array(["home_care", "age_allowance"], dtype="string"),
            "kind": pd.array(["service", "cash"], dtype="string"),
            "amount": pd.array([None, 12345], dtype="Int64"),
            "quantity": pd.array([12.5, None], dtype="Float64"),
            "unit": pd.array(["hour", "yuan"], dtype="string"),
            "period_start": _dates([dt.date(2025, 1, 1)] * 2).array,
            "period_end": _dates([dt.date(2025, 1, 31)] * 2).array,
            "care_level": pd.array([3, None], dtype="Int64"),
            "living_alone": pd.array([True, None], dtype="boolean"),
            "grid_code": pd.array([None, "CA-07"], dtype="string"),
            "as_of": _dates([dt.date(2025, 2, 1)] * 2).array,
        },
        index=pd.Index([10, 11], dtype="int64"),
    )
    result = deidentifier.apply(ELDERLY, frame)
    curated = result.curated
    assert "name" not in curated.columns
    assert "resident_id" not in curated.columns
    for column in ["amount", "quantity", "care_level", "living_alone", "period_start", "grid_code"]:
        pd.testing.assert_series_equal(curated[column], frame[column])
    # one ID and one name for the same resident on two rows: two vault entries
    assert sorted(result.vault["field"]) == ["name", "resident_id"]


def test_same_resident_gets_the_same_key_in_every_dataset(keyring: KeyRing) -> None:
    with Deidentifier(keyring) as one, Deidentifier(keyring) as other:
        grid = one.apply(GRID, grid_frame([ZHANG], [2]))
        elderly = other.apply(ELDERLY, _elderly_frame(ZHANG.resident_id))
    assert grid.curated["resident_key"].iloc[0] == elderly.curated["resident_key"].iloc[0]


def _elderly_frame(rid: str) -> pd.DataFrame:
    data: dict[str, object] = {
        c.name: pd.Series([None], dtype=_dtype(c.type)).array for c in ELDERLY.columns
    }
    data["resident_id"] = pd.array([rid], dtype="string")
    data["name"] = pd.array(["张三"], dtype="string")
    return pd.DataFrame(data, index=pd.Index([2], dtype="int64"))


def _dtype(column_type: str) -> str:
    return {
        "integer": "Int64",
        "money": "Int64",
        "decimal": "Float64",
        "boolean": "boolean",
        "date": "datetime64[s]",
    }.get(column_type, "string")


def test_columns_outside_the_contract_never_reach_curated(deidentifier: Deidentifier) -> None:
    frame = grid_frame([ZHANG], [2]).assign(身份证号=pd.array([ZHANG.resident_id], dtype="string"))
    curated = deidentifier.apply(GRID, frame).curated
    assert list(curated.columns) == GRID_CURATED


def test_empty_frame(deidentifier: Deidentifier) -> None:
    result = deidentifier.apply(GRID, grid_frame([], []))
    assert list(result.curated.columns) == GRID_CURATED
    assert len(result.curated) == 0
    assert list(result.vault.columns) == VAULT_COLUMNS
    assert len(result.vault) == 0


def test_contract_without_deid_columns_has_an_empty_vault(deidentifier: Deidentifier) -> None:
    ledger = get_contract("assistance_ledger")
    frame = pd.DataFrame(
        {c.name: pd.Series([None], dtype=_dtype(c.type)).array for c in ledger.columns},
        index=pd.Index([1], dtype="int64"),
    )
    result = deidentifier.apply(ledger, frame)
    assert list(result.curated.columns) == ledger.column_names
    assert result.vault.empty
    assert result.vault.dtypes.astype(str).tolist() == ["string", "string", "object"]


# ---- the vault ------------------------------------------------------------------------------


def test_vault_has_one_entry_per_distinct_resident_field_value(
    deidentifier: Deidentifier, keyring: KeyRing
) -> None:
    moved = dataclasses.replace(
        ZHANG, phone="13987654321"
    )  # same resident, a second phone on a later row
    result = deidentifier.apply(GRID, grid_frame([ZHANG, ZHANG, moved, OUYANG], [2, 3, 4, 5]))
    vault = result.vault
    assert list(vault.columns) == VAULT_COLUMNS
    assert vault["resident_key"].dtype == "string"
    assert vault["field"].dtype == "string"
    counts = vault.groupby("field").size().to_dict()
    # ZHANG x (id, name, address, 2 phones); OUYANG x (id, name, address), no phone
    assert counts == {"address": 2, "name": 2, "phone": 2, "resident_id": 2, "household_id": 2}
    assert not vault.duplicated().any()


def test_contract_with_vault_columns_needs_an_identity_column(deidentifier: Deidentifier) -> None:
    raw = GRID.model_dump()
    for column in raw["columns"]:
        column["identity"] = None if column["identity"] == "resident_id" else column["identity"]
    anonymous = ContractSpec.model_validate(raw)
    with pytest.raises(NoIdentityColumn) as info:
        deidentifier.apply(anonymous, grid_frame([ZHANG], [2]))
    assert "grid" in str(info.value)
    assert "name" in info.value.vault_columns


def test_missing_required_column_is_refused(deidentifier: Deidentifier) -> None:
    frame = grid_frame([ZHANG], [2]).drop(columns=["household_id"])
    with pytest.raises(FrameColumnMissing, match="household_id") as info:
        deidentifier.apply(GRID, frame)
    assert ZHANG.resident_id not in str(info.value)


def test_row_without_resident_id_cannot_be_vaulted(deidentifier: Deidentifier) -> None:
    frame = grid_frame([ZHANG, OUYANG], [2, 5])
    frame.loc[5, "resident_id"] = pd.NA
    with pytest.raises(VaultResidentMissing) as info:
        deidentifier.apply(GRID, frame)
    assert info.value.rows == [5]
    assert "欧阳娜娜" not in str(info.value)


# ---- property: nothing raw survives ---------------------------------------------------------

AREAS = ["110105", "440304", "310115", "510104", "650102"]
SURNAMES = ["张", "王", "李", "欧阳", "司马", "诸葛", "买"]
han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)


@st.composite
def residents(draw: st.DrawFn) -> Person:
    born = draw(st.dates(dt.date(1920, 1, 1), dt.date(2024, 12, 31)))
    name = draw(st.sampled_from(SURNAMES)) + draw(st.text(han, min_size=1, max_size=3))
    mobile = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
    landline = draw(st.from_regex(r"0(10|2[0-9]|[3-9][0-9]{2})-[2-8][0-9]{6,7}", fullmatch=True))
    phone = draw(st.sampled_from([mobile, landline, None]))
    seq = draw(st.integers(0, 999))
    return person(draw(st.sampled_from(AREAS)), born, seq, name, phone)


@st.composite
def grid_frames(draw: st.DrawFn) -> pd.DataFrame:
    pool = draw(st.lists(residents(), min_size=1, max_size=8))
    rows = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=15))
    start = draw(st.integers(2, 10_000))
    return grid_frame(rows, list(range(start, start + 2 * len(rows), 2)))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=grid_frames())
def test_no_raw_identifier_survives_deidentification(
    frame: pd.DataFrame, deidentifier: Deidentifier, keyring: KeyRing
) -> None:
    result = deidentifier.apply(GRID, frame)
    raws = {v for f in VAULT_FIELDS for v in frame[f].dropna()}

    cells = [str(v) for v in result.curated.to_numpy().ravel()]
    cells += [str(v) for v in result.curated.index] + list(result.curated.columns)
    for raw in raws:
        assert not any(raw in cell for cell in cells)
        assert not any(raw.encode() in ct for ct in result.vault["ciphertext"])
        assert not any(
            raw in str(v) for v in result.vault[["resident_key", "field"]].to_numpy().ravel()
        )

    # the vault gives back exactly the raw values, each bound to its resident
    cipher = VaultCipher(keyring.vault_key)
    opened = set()
    for field, entries in result.vault.groupby("field"):
        values = cipher.decrypt_column(entries["ciphertext"], str(field), entries["resident_key"])
        opened |= set(
            zip(entries["resident_key"], [str(field)] * len(entries), values, strict=True)
        )
    with Pseudonymiser(keyring.pseudonym_key) as p:
        keys = p.pseudonymise(frame["resident_id"], "resident_id")
    expected = {
        (k, f, v)
        for f in VAULT_FIELDS
        for k, v in zip(keys, frame[f], strict=True)
        if v is not pd.NA
    }
    assert opened == expected
    assert len(result.vault) == len(expected)
    assert result.curated["resident_key"].equals(keys.rename("resident_key"))
