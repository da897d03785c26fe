"""Identity rules: resident ID numbers (GB 11643), phone numbers and grid codes.

Each rule takes a column of raw text and returns an `IdentityResult`: the normalised values,
the blocking error (a rule name) and the non-blocking warning (a rule name), aligned to the
input index. Rule names are stable: they reach the row-level report a department reads.
Nothing here ever puts a value into a message. Everything is vectorised; the common case (an
already clean value) takes a fast path, and only the rest pays for Unicode clean-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas._areas import area_code_ever_known
from schemas._strings import (
    as_string,
    blank_to_null,
    char_matrix,
    codes_to_rules,
    from_chars,
    fullmatch,
    mask_to_null,
    nfkc,
    not_ascii_digits,
    replace,
    to_arrow,
    to_series,
)

# Rule names (exact; they appear in reports and tests).
RID_MISSING = "resident_id:missing"
RID_EXCEL_NUMERIC = "resident_id:excel_numeric"
RID_FORMAT = "resident_id:format"
RID_CHECK = "resident_id:check_character"
RID_BIRTH_DATE = "resident_id:birth_date"
RID_UPGRADED_15 = "resident_id:upgraded_15"
RID_X_RESTORED = "resident_id:x_restored"
RID_AREA_CODE = "resident_id:area_code"
RID_CONTRADICTS_SEX = "resident_id:contradicts_sex"
RID_CONTRADICTS_BIRTH = "resident_id:contradicts_birth_date"
RID_EXCEL_ROUNDED = "resident_id:excel_rounded"
PHONE_FORMAT = "phone:format"
GRID_FORMAT = "grid_code:format"

STANDARD_GRID_SCHEME = "standard"

# Index 0 of each list means "no finding"; codes index these lists.
_RID_ERRORS = [None, RID_MISSING, RID_EXCEL_NUMERIC, RID_FORMAT, RID_CHECK, RID_BIRTH_DATE]
_RID_WARNINGS = [None, RID_UPGRADED_15, RID_X_RESTORED, RID_AREA_CODE]

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)
_CANONICAL_ID = r"\d{17}[\dX]"
# Separators a clerk or a spreadsheet puts into numbers (after NFKC, which already maps
# full-width digits, letters, spaces and the full-width hyphen to ASCII). RE2 syntax.
_SEPARATORS = r"[[:space:]\-\x{2010}-\x{2015}\x{2212}]"
_DOT_ZERO = (r"^(\d+)\.0+$", r"\1")  # a number a reader printed from an Excel float
# Ways clerks keep Excel from turning an ID into a number: a leading or trailing apostrophe
# ('110..., 110...') or a formula (="110..."). Only the wrapping goes, never a digit.
_WRAPPED = (r"^(?:=\"([^\"]*)\"|'+([^']*?)'*|([^']*?)'+)$", r"\1\2\3")


def _drop_dot_zero(text: pa.Array) -> pa.Array:
    return replace(text, *_DOT_ZERO, only=pc.match_substring(text, "."))


@dataclass
class IdentityResult:
    values: pd.Series  # normalised value ("string"), <NA> where missing or in error
    error: pd.Series  # blocking rule name ("string") or <NA>
    warning: pd.Series  # non-blocking rule name ("string") or <NA>

    @property
    def ok(self) -> pd.Series:
        """True where the value passed (it may still carry a warning)."""
        return self.error.isna()


def _check_chars(digits17: np.ndarray) -> np.ndarray:
    """ISO 7064 MOD 11-2 check characters (ASCII codes) of an (n, 17) uint8 ASCII matrix."""
    total = (digits17.astype(np.int64) - 48) @ _WEIGHTS
    return _CHECK_CHARS[total % 11]


def _birth_parts(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = mat[:, 6:14].astype(np.int64) - 48
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    return year, d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]


def _valid_birth(mat: np.ndarray, today: date) -> tuple[np.ndarray, np.ndarray]:
    """(birth date is a real calendar date in [1900-01-01, today], birth year)."""
    year, month, day = _birth_parts(mat)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    dim = month_days[np.clip(month, 0, 12)] + ((month == 2) & leap)
    real = (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim)
    ymd = year * 10000 + month * 100 + day
    today_ymd = today.year * 10000 + today.month * 100 + today.day
    return real & (ymd >= 19000101) & (ymd <= today_ymd), year


def _append_check_char(digits17: np.ndarray) -> np.ndarray:
    return np.hstack([digits17, _check_chars(digits17)[:, None]])


def _clean_id_text(raw: pa.Array) -> pa.Array:
    """Unicode and spreadsheet clean-up for values that are not already canonical."""
    text = pc.utf8_upper(nfkc(raw))
    text = replace(text, *_WRAPPED,
                   only=pc.or_(pc.match_substring(text, "'"), pc.starts_with(text, "=")))
    text = replace(text, _SEPARATORS, "", only=not_ascii_digits(text))
    # A trailing ".0": Excel stored the number as a float and a reader printed it.
    return _drop_dot_zero(text)


def normalise_resident_id(values: pd.Series, today: date) -> IdentityResult:
    """Normalise and check GB 11643 resident ID numbers.

    Clean-up: NFKC (full-width digits and X), upper-case x, spaces and hyphens removed, a
    trailing ".0" dropped. Repairs (warnings): 15-digit legacy numbers get "19" and a check
    character (`resident_id:upgraded_15`); 17 digits whose check character is X get it back
    (`resident_id:x_restored`). Errors: missing, excel_numeric (scientific notation: digits
    lost), format, check_character, birth_date (not a real date, before 1900 or after
    `today`). Wrapped values ('110..., 110...', ="110...") are unwrapped first.

    An area code that never existed is a warning only. A code created after the birth year is
    not: an ID is issued (or re-issued) where a person is registered, often decades after
    birth, so most people born before their district existed carry its code legitimately.
    """
    s = as_string(values)
    arr = to_arrow(s)
    n = len(arr)
    err = np.zeros(n, dtype=np.int8)
    warn = np.zeros(n, dtype=np.int8)

    # 18-character candidates as rows of an ASCII matrix, with their positions; `verify`
    # marks those whose check character came from the source rather than from us.
    canonical = fullmatch(arr, _CANONICAL_ID)
    positions = [np.flatnonzero(canonical)]
    mats = [char_matrix(arr.filter(pa.array(canonical)), 18)]
    verify = [np.ones(len(positions[0]), dtype=bool)]

    rest = np.flatnonzero(~canonical)
    if len(rest):
        text = _clean_id_text(arr.take(pa.array(rest)))
        length = np.asarray(pc.utf8_length(text).fill_null(0))
        missing = length == 0
        sci = fullmatch(text, r"\d+(?:\.\d+)?E[+-]?\d+")
        is18, is15, is17 = (fullmatch(text, p) for p in (_CANONICAL_ID, r"\d{15}", r"\d{17}"))
        err[rest[missing]] = 1
        err[rest[sci]] = 2
        err[rest[~(missing | sci | is18 | is15 | is17)]] = 3

        positions.append(rest[is18])
        mats.append(char_matrix(text.filter(pa.array(is18)), 18))
        verify.append(np.ones(int(is18.sum()), dtype=bool))

        # Legacy 15-digit numbers: century "19" before the 2-digit year, new check character.
        m15 = char_matrix(text.filter(pa.array(is15)), 15)
        century = np.broadcast_to(np.frombuffer(b"19", dtype=np.uint8), (len(m15), 2))
        positions.append(rest[is15])
        mats.append(_append_check_char(np.hstack([m15[:, :6], century, m15[:, 6:]])))
        verify.append(np.zeros(len(m15), dtype=bool))
        warn[rest[is15]] = 1

        # 17 digits: Excel dropped a trailing X. Only restorable when X is the right check char.
        m17 = char_matrix(text.filter(pa.array(is17)), 17)
        lost_x = _check_chars(m17) == ord("X")
        pos17 = rest[is17]
        positions.append(pos17[lost_x])
        mats.append(_append_check_char(m17[lost_x]))
        verify.append(np.zeros(int(lost_x.sum()), dtype=bool))
        warn[pos17[lost_x]] = 2
        err[pos17[~lost_x]] = 3

    cand_pos = np.concatenate(positions)
    mat = np.vstack(mats)
    bad_check = np.concatenate(verify) & (_check_chars(mat[:, :17]) != mat[:, 17])
    birth_ok, _ = _valid_birth(mat, today)
    err[cand_pos[~birth_ok]] = 5
    err[cand_pos[bad_check]] = 4  # a wrong check character explains a wrong date too
    area = (mat[:, :6].astype(np.int64) - 48) @ np.array([100000, 10000, 1000, 100, 10, 1])
    # One warning per cell: how the number was repaired matters more than its area code.
    flag = (err[cand_pos] == 0) & (warn[cand_pos] == 0)
    flag[flag] = ~area_code_ever_known(area[flag])
    warn[cand_pos[flag]] = 3
    warn[err != 0] = 0

    slot = np.full(n, -1, dtype=np.int64)
    slot[cand_pos] = np.arange(len(cand_pos))
    keep = (err == 0) & (slot >= 0)
    out = from_chars(mat).take(pa.array(np.where(keep, slot, 0), mask=~keep))
    return IdentityResult(
        values=to_series(out, s.index),
        error=codes_to_rules(err, _RID_ERRORS, s.index),
        warning=codes_to_rules(warn, _RID_WARNINGS, s.index),
    )


def birth_date_from_id(values: pd.Series) -> pd.Series:
    """Birth date encoded in normalised 18-character IDs ("datetime64[s]", NaT if none)."""
    arr = to_arrow(values)
    ymd = mask_to_null(pc.utf8_slice_codeunits(arr, 6, 14), ~fullmatch(arr, _CANONICAL_ID))
    days = pd.to_datetime(to_series(ymd, values.index), format="%Y%m%d", errors="coerce")
    return days.astype("datetime64[s]")


def gender_from_id(values: pd.Series) -> pd.Series:
    """"M" or "F" from the 17th digit (odd for men) of normalised IDs; <NA> if not an ID."""
    arr = to_arrow(values)
    valid = fullmatch(arr, _CANONICAL_ID)
    odd = fullmatch(pc.utf8_slice_codeunits(arr, 16, 17), "[13579]")
    return codes_to_rules(np.where(valid, np.where(odd, 1, 2), 0), [None, "M", "F"],
                          values.index)


def cross_check_resident_id(found: IdentityResult, raw: pd.Series, sex: pd.Series | None,
                            birth_date: pd.Series | None) -> IdentityResult:
    """Errors for IDs whose sex digit or birth date disagree with the row's own columns.

    `sex` holds "M"/"F", `birth_date` datetime64 values; missing ones are not compared. An ID
    ending in 000 that fails its check character or contradicts the row was most likely
    rounded by Excel (15 significant digits): it is named as such, since it may be another
    person's valid number.
    """
    error = found.error.copy()
    ok = found.ok.to_numpy(dtype=bool).copy()
    if sex is not None:
        own = gender_from_id(found.values)
        clash = ok & (as_string(sex).notna() & own.notna() & (as_string(sex) != own)
                      ).to_numpy(dtype=bool)
        error[clash] = RID_CONTRADICTS_SEX
        ok &= ~clash
    if birth_date is not None:
        own_birth = birth_date_from_id(found.values)
        given = pd.to_datetime(birth_date, errors="coerce").astype("datetime64[s]")
        # A birth date no ID can hold (before 1900) is the date column's own error.
        given = given.where(given >= pd.Timestamp("1900-01-01"))
        clash = ok & (given.notna() & own_birth.notna() & (given != own_birth)
                      ).to_numpy(dtype=bool)
        error[clash] = RID_CONTRADICTS_BIRTH
        ok &= ~clash
    suspect = error.isin([RID_CHECK, RID_CONTRADICTS_SEX, RID_CONTRADICTS_BIRTH]).to_numpy(
        dtype=bool)
    if suspect.any():
        tail = as_string(raw).str.strip().str.endswith("000").fillna(False)
        error[suspect & tail.to_numpy(dtype=bool)] = RID_EXCEL_ROUNDED
    values = found.values.where(error.isna())
    warning = found.warning.where(error.isna())
    return IdentityResult(values=values, error=error.astype("string"),
                          warning=warning.astype("string"))


def _no_findings(index: pd.Index) -> pd.Series:
    return codes_to_rules(np.zeros(len(index), dtype=np.int8), [None], index)


_PHONE_JUNK = r"[[:space:]\-\x{2010}-\x{2015}\x{2212}().]"


def normalise_phone(values: pd.Series) -> IdentityResult:
    """Mainland mobiles as 11 digits; landlines as "0AA-NNNNNNNN"; anything else phone:format.

    Area codes 010 and 020-029 have two digits after the 0, every other one three, so the
    split does not depend on where (or whether) the sender put a hyphen.
    """
    text = nfkc(to_arrow(values))
    text = blank_to_null(replace(text, _PHONE_JUNK, "", only=not_ascii_digits(text)))
    mobile = pc.extract_regex(text, r"^(?:\+86|0086|86)?(?P<m>1[3-9]\d{9})$")
    # "+86 10 1234 5678": the international form drops the trunk 0 of the area code.
    land_text = replace(text, r"^(?:\+86|0086)([1-9])", r"0\1",
                        only=pc.or_(pc.starts_with(text, "+86"), pc.starts_with(text, "0086")))
    land = pc.extract_regex(land_text, r"^(?P<a>0[12]\d|0[3-9]\d\d)(?P<n>\d{7,8})$")
    landline = pc.binary_join_element_wise(pc.struct_field(land, "a"),
                                           pc.struct_field(land, "n"),
                                           pa.scalar("-", pa.large_string()))
    out = pc.coalesce(pc.struct_field(mobile, "m"), landline)
    bad = np.asarray(pc.and_(pc.is_valid(text), pc.is_null(out)))
    return IdentityResult(
        values=to_series(out, values.index),
        error=codes_to_rules(bad.astype(np.int8), [None, PHONE_FORMAT], values.index),
        warning=_no_findings(values.index),
    )


def normalise_grid_code(values: pd.Series, scheme: str) -> IdentityResult:
    """Standard 15-digit grid codes, or a department scheme's code trimmed and upper-cased.

    Department codes are mapped to the standard grid through the crosswalk elsewhere; here
    they only get the clean-up that makes the same code compare equal.
    """
    text = pc.utf8_upper(pc.utf8_trim_whitespace(nfkc(to_arrow(values))))
    bad = np.zeros(len(text), dtype=bool)
    if scheme == STANDARD_GRID_SCHEME:
        text = _drop_dot_zero(replace(text, _SEPARATORS, "", only=not_ascii_digits(text)))
    text = blank_to_null(text)
    if scheme == STANDARD_GRID_SCHEME:
        bad = np.asarray(pc.is_valid(text)) & ~fullmatch(text, r"\d{15}")
    return IdentityResult(
        values=to_series(mask_to_null(text, bad), values.index),
        error=codes_to_rules(bad.astype(np.int8), [None, GRID_FORMAT], values.index),
        warning=_no_findings(values.index),
    )
