"""Generalisation of quasi-identifiers (GB/T 37964): coarser values that still answer the
questions staff ask (how many over-80s in this community?) without singling anyone out.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

# Lower bounds of the age bands. Under 14 is its own band: children under 14 are sensitive
# personal information (PIPL art. 28); 60+ is split because elderly-care rules step at 60/70/80.
AGE_BAND_STARTS = (0, 14, 18, 60, 70, 80)
AGE_BANDS = ("0-13", "14-17", "18-59", "60-69", "70-79", "80+")
_GRID_CODE = r"[0-9]{15}"  # 12-digit statistical community code + 3-digit grid number
COMMUNITY_CODE_DIGITS = 12


def birth_year(dates: pd.Series) -> pd.Series:
    """Year of each date as "Int16"; NaT becomes <NA>. Index and name preserved."""
    if not pd.api.types.is_datetime64_any_dtype(dates.dtype):
        raise TypeError(f"birth_year needs a datetime64 series, got {dates.dtype}")
    return dates.dt.year.astype("Int16")


def _age_from_dates(dates: pd.Series, on: dt.date) -> pd.Series:
    years = dates.dt.year.astype("Int64")
    month_day = (dates.dt.month * 100 + dates.dt.day).astype("Int64")
    before_birthday = month_day > on.month * 100 + on.day
    return on.year - years - before_birthday.astype("Int64")


def _age_from_years(years: pd.Series, on: dt.date) -> pd.Series:
    # A birth year alone cannot tell whether this year's birthday has passed. Take the
    # youngest possible age, so that a child who may still be 13 is never shown as 14-17
    # (on 31 December every birthday of the year has passed and the age is exact).
    passed = 1 if (on.month, on.day) == (12, 31) else 0
    return on.year - years.astype("Int64") - 1 + passed


def age_band(values: pd.Series, on: dt.date) -> pd.Series:
    """Age band on date `on` of birth dates (datetime64) or birth years (integers).

    Returns a "string" series of AGE_BANDS labels; missing values and births after `on`
    give <NA>. Index and name preserved.
    """
    if isinstance(on, dt.datetime):
        on = on.date()
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        age = _age_from_dates(values, on)
    elif pd.api.types.is_integer_dtype(values.dtype):
        age = _age_from_years(values, on)
    else:
        raise TypeError(f"age_band needs birth dates or integer birth years, got {values.dtype}")
    ages = age.to_numpy(dtype="float64", na_value=np.nan)
    band = np.searchsorted(np.asarray(AGE_BAND_STARTS[1:], dtype="float64"), ages, side="right")
    labels = np.asarray(AGE_BANDS, dtype=object)[np.minimum(band, len(AGE_BANDS) - 1)]
    labels[np.isnan(ages) | (ages < 0)] = None
    return pd.Series(labels, index=values.index, name=values.name, dtype="string")


def community_of_grid(codes: pd.Series) -> pd.Series:
    """The 12-digit community code of each standard 15-digit grid code.

    Anything that is not a standard grid code (another scheme's code, a name) gives <NA>:
    mapping it is the crosswalk's job, not a guess to make here.
    """
    text = codes.astype("string")
    standard = text.str.fullmatch(_GRID_CODE).fillna(False).astype(bool)
    return text.str.slice(0, COMMUNITY_CODE_DIGITS).where(standard, pd.NA)
