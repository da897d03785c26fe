"""From a department's columns to a contract's: rename, clean, recode, type.

`check_headers` runs once per extract, before any row is read: a required contract column
without its department header stops the batch with a message naming both. `map_chunk` runs
per chunk: cells that cannot be typed become missing and get an issue (row, column, rule),
never a value. Identity columns (resident ID, phone, grid code) stay text here: the
`schemas` identity rules normalise and check them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connectors.base import MappedChunk, RawChunk
from connectors.cells import normalise_header
from connectors.errors import HeaderElsewhere, MissingColumns, SourceInvalid
from connectors.parsing import (
    Masks,
    null_where,
    parse_boolean,
    parse_date,
    parse_decimal,
    parse_integer,
    parse_money,
    parse_tags,
    rows_of,
    text_view,
    valid_of,
)
from connectors.source import DEFAULT_DATE_FORMATS, ColumnMapping, SourceSpec
from schemas.issues import ROW_COLUMN, concat_issues, issues_for
from schemas.spec import ColumnSpec, ColumnType, ContractSpec

_PANDAS_TYPES: dict[pa.DataType, object] = {
    pa.string(): pd.StringDtype(), pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(), pa.bool_(): pd.BooleanDtype(),
}
_ARROW_TYPES = {
    ColumnType.STRING: pa.string(), ColumnType.CATEGORY: pa.string(),
    ColumnType.TAGS: pa.string(), ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: pa.float64(), ColumnType.MONEY: pa.int64(),
    ColumnType.DATE: pa.timestamp("s"), ColumnType.BOOLEAN: pa.bool_(),
}


def _source(spec: SourceSpec) -> str:
    return f"source '{spec.name}'"


def mappings(spec: SourceSpec, contract: ContractSpec) -> dict[str, ColumnMapping]:
    """The spec's column mappings in contract order; SourceInvalid for unknown columns."""
    unknown = [c for c in spec.columns if c not in contract.column_names]
    if unknown:
        raise SourceInvalid(_source(spec), f"`columns` maps {', '.join(unknown)}, not in "
                                           f"contract {contract.name} v{contract.version}")
    identity = contract.identity_column
    if spec.no_id:
        if identity is None or contract.ledger is None:
            raise SourceInvalid(_source(spec), f"`no_id` needs a contract whose rows link to "
                                               f"residents; {contract.name} has no such rows")
        if identity.name in spec.columns:
            raise SourceInvalid(_source(spec), f"`no_id` says the extract has no ID numbers, "
                                               f"but `columns` maps {identity.name}")
    out = {}
    for col in contract.columns:
        m = spec.mapping(col.name)
        if m is not None:
            out[col.name] = m
    return out


def check_headers(spec: SourceSpec, contract: ContractSpec, headers: list[str],
                  location: str, leading: Callable[[], list[list[str]]] | None = None) -> None:
    """MissingColumns unless every required contract column is mapped and its header present.

    Headers are compared after NFKC normalisation and dropping spaces/BOM. When they are
    missing, `leading` (the file's first lines as cells) finds a title above the table:
    HeaderElsewhere names the line where the expected headers are. An empty
    `headers` list means a record source (JSON, HTTP) without records: nothing to check.
    """
    maps = mappings(spec, contract)
    if not headers:
        return
    present = {normalise_header(h) for h in headers}
    missing: dict[str, str | None] = {}
    absent = contract.identity_column if spec.no_id else None
    for col in contract.columns:
        if not col.required or col is absent:
            continue
        m = maps.get(col.name)
        if m is None:
            missing[col.name] = None
        elif m.from_ is not None and normalise_header(m.from_) not in present:
            missing[col.name] = m.from_
    if missing:
        expected = {normalise_header(h) for h in missing.values() if h}
        for number, cells in enumerate(leading() if leading else [], start=1):
            found = {normalise_header(c) for c in cells}
            if expected and number > spec.header_row and expected <= found:
                raise HeaderElsewhere(location, contract.name, contract.version, missing,
                                      spec.header_row, number)
        raise MissingColumns(location, contract.name, contract.version, missing)


def clean_text(arr: pa.Array) -> pa.Array:
    """NFKC (full-width to half-width), outer whitespace stripped, empty -> null.

    Decided on the raw UTF-8 bytes, so a clean column costs a few numpy passes: NFKC only
    runs on values with a character outside ASCII and the CJK ideographs (lead bytes
    E4-E9 cover U+4000-U+9FFF, which NFKC leaves alone), trimming only when some value
    starts or ends with whitespace or was normalised."""
    offsets, data = text_view(arr)
    touched = np.zeros(len(arr), dtype=bool)
    if len(data) and data.max() >= 0x80:
        lead = np.flatnonzero((data >= 0xC2) & ((data <= 0xE3) | (data >= 0xEA)))
        if len(lead):
            touched = rows_of(offsets, lead)
            needs = pa.array(touched)
            arr = pc.replace_with_mask(arr, needs,
                                       pc.utf8_normalize(arr.filter(needs), form="NFKC"))
            offsets, data = text_view(arr)
    lengths = np.diff(offsets)
    if len(data):
        starts = offsets[:-1] - offsets[0]
        full = lengths > 0
        ends = np.where(full, starts + lengths - 1, 0)
        first, last = data[np.where(full, starts, 0)], data[ends]
        # Every ASCII whitespace byte is <= 0x20 (so are control bytes, which trim keeps).
        spaced = full & ((first <= 0x20) | (last <= 0x20))
        if spaced.any() or touched.any():
            arr = pc.utf8_trim_whitespace(arr)
            lengths = np.diff(text_view(arr)[0])
    return null_where(arr, lengths == 0)


def _separator(m: ColumnMapping) -> str | None:
    # Cells are NFKC-normalised, so the YAML's separator (say a full-width ；) must be too.
    return unicodedata.normalize("NFKC", m.separator) if m.separator else None


def _recode(arr: pa.Array, codes: dict[str, str]) -> tuple[pa.Array, np.ndarray]:
    """Department codes -> contract values; (values, cells with a code not in the map)."""
    keys = pa.array([unicodedata.normalize("NFKC", k).strip() for k in codes])
    values = pa.array([v if v != "" else None for v in codes.values()], pa.string())
    pos = pc.index_in(arr, value_set=keys)
    unmapped = pc.and_(pc.is_valid(arr), pc.is_null(pos))
    return pc.take(values, pos), np.asarray(unmapped.to_numpy(zero_copy_only=False), dtype=bool)


def _recode_tags(arr: pa.Array, codes: dict[str, str]) -> tuple[pa.Array, np.ndarray]:
    """Codes applied token by token to ';'-joined tags; a cell with an unknown token is
    unmapped as a whole (it becomes missing, like any unmapped code)."""
    keys = pa.array([unicodedata.normalize("NFKC", k).strip() for k in codes])
    values = pa.array([v if v != "" else None for v in codes.values()], pa.string())
    lists = pc.split_pattern(arr, ";")
    tokens = pc.list_flatten(lists)
    pos = pc.index_in(tokens, value_set=keys)
    unmapped = np.zeros(len(arr), dtype=bool)
    parents = np.asarray(pc.list_parent_indices(lists).to_numpy(zero_copy_only=False))
    unmapped[parents[~valid_of(pos)]] = True
    mapped = pc.fill_null(pc.take(values, pos), "")  # a code mapped to "" drops the token
    offsets = pc.subtract(lists.offsets, lists.offsets[0])
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, mapped), ";")
    out = parse_tags(null_where(joined, unmapped | ~valid_of(arr)), None)
    return out, unmapped


def _typed(col: ColumnSpec, m: ColumnMapping, arr: pa.Array) -> tuple[pa.Array, Masks]:
    t = col.type
    if t == ColumnType.MONEY:
        return parse_money(arr, m.unit)
    if t == ColumnType.INTEGER:
        return parse_integer(arr)
    if t == ColumnType.DECIMAL:
        return parse_decimal(arr)
    if t == ColumnType.BOOLEAN:
        return parse_boolean(arr)
    if t == ColumnType.DATE:
        return parse_date(arr, m.formats or DEFAULT_DATE_FORMATS)
    if t == ColumnType.TAGS:
        return parse_tags(arr, _separator(m)), {}
    return arr, {}


def _column(spec: SourceSpec, col: ColumnSpec, m: ColumnMapping, raw: pd.DataFrame,
            lookup: dict[str, str]) -> tuple[pa.Array, Masks]:
    n = len(raw)
    if m.value is not None:
        const, masks = _typed(col, m, clean_text(pa.array([m.value], pa.string())))
        if any(mask.any() for mask in masks.values()) or const.null_count:
            raise SourceInvalid(_source(spec), f"the constant `value` of column '{col.name}' "
                                               f"is not a valid {col.type}")
        return pa.repeat(const[0], n), {}
    header = lookup.get(normalise_header(m.from_ or ""))
    if header is None:  # a record source whose records lack the key
        return pa.nulls(n, _ARROW_TYPES[col.type]), {}
    series = raw[header]
    arr = pa.array(series.array, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = clean_text(arr.cast(pa.string()))
    found: Masks = {}
    if m.codes and col.type == ColumnType.TAGS:
        arr = parse_tags(arr, _separator(m))
        arr, found["code:unmapped"] = _recode_tags(arr, m.codes)
        return arr, found
    if m.codes:
        arr, found["code:unmapped"] = _recode(arr, m.codes)
    typed, type_masks = _typed(col, m, arr)
    found.update(type_masks)
    return typed, found


def _contract_columns(spec: SourceSpec, contract: ContractSpec, found: pd.DataFrame
                      ) -> pd.DataFrame:
    """Reader issues name the department's header; the report names the contract column
    (and shows the department's header beside it)."""
    if found.empty or (found["column"] == ROW_COLUMN).all():
        return found
    by_header = {normalise_header(m.from_): name
                 for name, m in mappings(spec, contract).items() if m.from_}
    out = found.copy()
    out["column"] = out["column"].map(
        lambda h: h if h == ROW_COLUMN else by_header.get(normalise_header(h), ROW_COLUMN)
    ).astype("string")
    return out


def map_chunk(spec: SourceSpec, contract: ContractSpec, raw: RawChunk) -> MappedChunk:
    """Contract columns (typed as in connectors.base.MappedChunk) plus cell issues."""
    frame = raw.frame
    lookup = {normalise_header(str(h)): str(h) for h in frame.columns}
    rows = np.asarray(frame.index, dtype=np.int64)
    columns: dict[str, pa.Array] = {}
    issues = [_contract_columns(spec, contract, raw.malformed)]
    for name, m in mappings(spec, contract).items():
        col = contract.column(name)
        arr, masks = _column(spec, col, m, frame, lookup)
        columns[name] = arr.cast(_ARROW_TYPES[col.type])
        issues.extend(issues_for(rows[mask], name, rule)
                      for rule, mask in masks.items() if mask.any())
    identity = contract.identity_column
    if spec.no_id and identity is not None:
        # Every row's ID is missing: validation says so, and the row is sealed for linkage.
        columns[identity.name] = pa.nulls(len(rows), _ARROW_TYPES[identity.type])
        columns = {c.name: columns[c.name] for c in contract.columns if c.name in columns}
    if columns:
        out = pa.table(columns).to_pandas(types_mapper=_PANDAS_TYPES.get)
        out.index = pd.Index(rows)
    else:
        out = pd.DataFrame(index=pd.Index(rows))
    all_issues = concat_issues(issues)
    if len(all_issues):
        all_issues = all_issues.sort_values("source_row", kind="stable", ignore_index=True)
    return MappedChunk(frame=out, issues=all_issues, rows_read=raw.rows_read)
