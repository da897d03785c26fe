"""Generalisation: birth year, age bands (children under 14 apart), community of a grid."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from desensitize.generalise import AGE_BANDS, age_band, birth_year, community_of_grid

ON = dt.date(2025, 6, 15)


def _dates(*values: str | None) -> pd.Series:
    return pd.Series(list(values), index=range(100, 100 + len(values)), dtype="datetime64[s]")


def test_birth_year_keeps_index_and_missing() -> None:
    out = birth_year(_dates("1949-12-31", None, "2011-06-16"))
    assert out.dtype == "Int16"
    assert out.tolist() == [1949, pd.NA, 2011]
    assert list(out.index) == [100, 101, 102]


def test_birth_year_refuses_text() -> None:
    with pytest.raises(TypeError):
        birth_year(pd.Series(["1949-12-31"], dtype="string"))


@pytest.mark.parametrize(
    ("born", "band"),
    [
        ("2011-06-16", "0-13"),  # turns 14 tomorrow: still a child under 14
        ("2011-06-15", "14-17"),  # 14th birthday today
        ("2007-06-16", "14-17"),
        ("2007-06-15", "18-59"),
        ("1965-06-16", "18-59"),
        ("1965-06-15", "60-69"),
        ("1955-06-15", "70-79"),
        ("1945-06-16", "70-79"),
        ("1945-06-15", "80+"),
        ("1920-01-01", "80+"),
        ("2025-06-15", "0-13"),  # born today
        ("2000-02-29", "18-59"),
    ],
)
def test_age_band_from_birth_dates(born: str, band: str) -> None:
    assert age_band(_dates(born), ON).iloc[0] == band


def test_age_band_missing_and_future_births_are_na() -> None:
    out = age_band(_dates(None, "2025-06-16"), ON)
    assert out.dtype == "string"
    assert out.isna().all()


def test_age_band_from_years_never_makes_a_child_look_older() -> None:
    years = pd.Series([2011, 2010, 1965, 1964, 1945, pd.NA], dtype="Int16")
    # 2011: 13 or 14 on 15 June, so 0-13; 2010: 14 or 15 -> 14-17
    assert age_band(years, ON).tolist() == ["0-13", "14-17", "18-59", "60-69", "70-79", pd.NA]


def test_age_band_from_years_is_exact_on_new_years_eve() -> None:
    years = pd.Series([2011, 1945], dtype="Int64")
    assert age_band(years, dt.date(2025, 12, 31)).tolist() == ["14-17", "80+"]


def test_age_band_accepts_a_datetime_and_labels_are_the_published_bands() -> None:
    out = age_band(_dates("1930-01-01", "2020-01-01", "1990-01-01"), dt.datetime(2025, 6, 15, 8))
    assert set(out) <= set(AGE_BANDS)
    assert AGE_BANDS == ("0-13", "14-17", "18-59", "60-69", "70-79", "80+")


def test_community_of_grid() -> None:
    codes = pd.Series(
        ["110105001002003", "110105001002", None, "朝阳-一网格", "１１０１０５００１００２００３"],
        index=[5, 6, 7, 8, 9],
        dtype="string",
    )
    out = community_of_grid(codes)
    assert out.tolist() == ["110105001002", pd.NA, pd.NA, pd.NA, pd.NA]
    assert list(out.index) == [5, 6, 7, 8, 9]
