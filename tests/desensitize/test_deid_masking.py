"""Display masking: golden cases."""

from __future__ import annotations

import pandas as pd
import pytest

from desensitize.masking import mask_id, mask_name, mask_phone


def _one(func: object, value: str) -> str:
    assert callable(func)
    return str(func(pd.Series([value], dtype="string")).iloc[0])


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("110105194912310021", "110105********0021"),
        ("11010519491231002X", "110105********002X"),
        ("110105491231002", "110105*****1002"),  # legacy 15-digit number
        ("1234567", "*******"),  # too short to show anything
    ],
)
def test_mask_id(raw: str, masked: str) -> None:
    assert _one(mask_id, raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("张", "*"), ("买买提·艾力", "买*****")],
)
def test_mask_name(raw: str, masked: str) -> None:
    assert _one(mask_name, raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "138****5678"),
        ("19912345678", "199****5678"),
        ("010-12345678", "010-******78"),
        ("01012345678", "010******78"),
        ("021-6543210", "021-*****10"),
        ("0755-12345678", "0755-******78"),
        ("075512345678", "0755******78"),
        ("87654321", "******21"),  # local number without area code
        ("12345", "*****"),
        ("+8613812345678", "************78"),  # not normalised: keep only the tail
    ],
)
def test_mask_phone(raw: str, masked: str) -> None:
    assert _one(mask_phone, raw) == masked


def test_masking_keeps_index_nulls_and_dtype() -> None:
    values = pd.Series(["13812345678", pd.NA, "010-12345678"], index=[9, 3, 5], dtype="string")
    out = mask_phone(values)
    assert out.dtype == "string"
    assert list(out.index) == [9, 3, 5]
    assert out.tolist() == ["138****5678", pd.NA, "010-******78"]
    assert mask_name(pd.Series([], dtype="string")).tolist() == []
    assert mask_id(pd.Series([pd.NA, pd.NA], dtype="string")).isna().all()
