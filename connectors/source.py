"""A source: one department's extract described declaratively in a YAML file.

The YAML maps the department's own headers (usually Chinese), formats, units, codes and grid
scheme onto a contract. Adding a department means adding a YAML file, not code::

    name: civil_affairs_elderly_care      # unique source name
    department: civil_affairs
    dataset: elderly_care                  # contract name
    format: csv                            # csv | xlsx | json | jsonl | parquet | sql | http
    load: snapshot                         # snapshot | delta (see hub.ledger.current)
    load_modes: [snapshot, delta]          # what an upload may ask for (default: [load])
    max_drop: 0.2                          # a snapshot dropping more waits for confirmation
    withdraw: {from: 状态, values: [撤销]}   # corrections: such a row withdraws its fact
    no_id: true                            # the extract has no ID numbers: every row is
                                           # linked to a resident by name, birth date, ...
    encoding: auto                         # csv: auto | utf-8 | utf-8-sig | gbk | gb18030
    grid_scheme: civil_affairs_community   # scheme of the grid_code column (crosswalk key)
    columns:                               # contract column -> department header (or a mapping)
      resident_id: 身份证号
      gender: {from: 性别, codes: {男: M, 女: F}}
      amount: {from: 补贴金额（分）, unit: fen}
      period_start: {from: 开始日期, formats: ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d"]}
      as_of: {value: "2026-10-31"}         # a constant when the extract has no such column
      address: {from: 住址, fill_merged: true}   # xlsx: merged cells fill every row they span
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.errors import SourceInvalid

DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"]
SOURCES_DIR = Path(__file__).parent / "sources"


class SourceFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    JSONL = "jsonl"
    PARQUET = "parquet"
    SQL = "sql"
    HTTP = "http"


LoadMode = Literal["snapshot", "delta"]
FILE_FORMATS = {SourceFormat.CSV, SourceFormat.XLSX, SourceFormat.JSON, SourceFormat.JSONL,
                SourceFormat.PARQUET}


class ColumnMapping(BaseModel):
    """How one contract column is read from the department's extract."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Annotated[str | None, Field(alias="from")] = None  # department header
    value: str | None = None  # constant for every row, when the extract lacks the column
    codes: dict[str, str] | None = None  # department code -> contract value (男 -> M)
    unit: Literal["yuan", "fen"] | None = None  # money columns
    formats: list[str] | None = None  # date columns, strptime formats tried in order
    separator: str | None = None  # tags columns: the department's separator (default ';')
    fill_merged: bool = False  # xlsx: a merged cell gives its value to every row it spans

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnMapping:
        if (self.from_ is None) == (self.value is None):
            raise ValueError("give exactly one of `from` (a header) or `value` (a constant)")
        return self


class Withdrawal(BaseModel):
    """Corrections: a row whose department column `from` holds one of `values` withdraws the
    fact with its business key (the rest of the row identifies the fact, as usual)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Annotated[str, Field(alias="from")]
    values: Annotated[list[str], Field(min_length=1)]


class SqlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str  # SQLAlchemy URL; `${ENV_VAR}` references are expanded at connect time
    query: str  # a SELECT; the hub never writes to a department's database


class HttpPaging(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    style: Literal["page", "offset", "cursor", "none"] = "page"
    page_param: str = "page"  # style=page
    first_page: int = 1
    size_param: str = "page_size"  # style=page / offset: the page-size query parameter
    size: int = 500
    offset_param: str = "offset"  # style=offset
    cursor_param: str = "cursor"  # style=cursor: query parameter carrying the cursor
    cursor_path: str = "next_cursor"  # style=cursor: where the next cursor is in the body
    max_pages: int = 100_000  # a safety bound against a server that never ends


class HttpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    records_path: str = "data"  # dotted path to the list of records in each page's body
    paging: HttpPaging = HttpPaging()
    headers: dict[str, str] = {}  # values may reference `${ENV_VAR}` (tokens stay out of YAML)
    timeout_seconds: float = 30.0
    retries: int = 3


class SourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    department: str
    dataset: str
    description: str = ""
    format: SourceFormat
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"] = "auto"  # csv
    delimiter: str = ","  # csv
    # xlsx: a sheet name (hidden sheets are read only when named) or an index among the
    # visible sheets; unset, the workbook must have exactly one visible sheet with data.
    sheet: str | int | None = None
    header_row: int = 1  # csv / xlsx: 1-based line of the header
    records_path: str | None = None  # json: dotted path to the list of records
    grid_scheme: str = "standard"
    # How an extract relates to what is loaded (hub.ledger.current): `snapshot` replaces the
    # source's current rows, `delta` adds or replaces rows by the contract's business key.
    load: LoadMode = "snapshot"
    load_modes: list[LoadMode] | None = None  # modes an upload may ask for; default [load]
    # A snapshot dropping more than this share of the source's current rows or residents is
    # held until a person confirms it.
    max_drop: Annotated[float, Field(ge=0.0, le=1.0)] = 0.2
    withdraw: Withdrawal | None = None  # corrections: rows that withdraw a fact
    # The extract carries no resident ID column at all (a paper register typed up, a street
    # office's list): every row becomes a linkage candidate (hub.pipeline.sealing) instead of
    # failing; the contract's ID column must then not be mapped.
    no_id: bool = False
    columns: dict[str, str | ColumnMapping]
    sql: SqlOptions | None = None
    http: HttpOptions | None = None

    @model_validator(mode="after")
    def _options_match_format(self) -> SourceSpec:
        if self.format == SourceFormat.SQL and self.sql is None:
            raise ValueError("format sql needs a `sql` section")
        if self.format == SourceFormat.HTTP and self.http is None:
            raise ValueError("format http needs an `http` section")
        if self.load_modes is not None and self.load not in self.load_modes:
            raise ValueError("`load_modes` must include the default `load` mode")
        return self

    @property
    def allowed_modes(self) -> list[LoadMode]:
        return list(self.load_modes) if self.load_modes is not None else [self.load]

    def mapping(self, column: str) -> ColumnMapping | None:
        raw = self.columns.get(column)
        if raw is None:
            return None
        return ColumnMapping(**{"from": raw}) if isinstance(raw, str) else raw


def load_source(path: Path | str) -> SourceSpec:
    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SourceInvalid(str(path), "file not found") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SourceInvalid(str(path), f"not a UTF-8 YAML file ({exc.__class__.__name__})") from exc
    if not isinstance(raw, dict):
        raise SourceInvalid(str(path), "top level must be a mapping")
    try:
        return SourceSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SourceInvalid(str(path), problems) from exc


def shipped_sources() -> dict[str, Path]:
    """The source YAMLs shipped with the hub, by dataset."""
    return {load_source(p).dataset: p for p in sorted(SOURCES_DIR.glob("*.yaml"))}


def source_catalogue(local: Path | None = None) -> tuple[dict[str, Path], dict[str, str]]:
    """Source name -> YAML and -> dataset: the shipped sources, then those in `local` (a
    home's own `sources/` folder, when it exists). SourceInvalid names a YAML that is wrong."""
    paths = sorted(SOURCES_DIR.glob("*.yaml"))
    if local is not None and local.is_dir():
        paths += sorted(local.glob("*.yaml"))
    files: dict[str, Path] = {}
    datasets: dict[str, str] = {}
    for path in paths:
        spec = load_source(path)
        files[spec.name], datasets[spec.name] = path, spec.dataset
    return files, datasets
