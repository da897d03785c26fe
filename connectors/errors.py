"""Errors raised while reading a department's extract.

    ConnectorError (DataHubError)
    ├── SourceInvalid         the source YAML is wrong (names the YAML file and the field)
    ├── ExtractUnreadable     the extract cannot be read at all: empty, binary garbage,
    │   │                     truncated archive, too large, wrong format (names the file)
    │   ├── EncodingMismatch  bytes that are not valid in the declared/detected encoding
    │   │                     (names the file, line and encoding; suggests the right one)
    │   ├── ExtractTruncated  the file ends in the middle of a line: it was cut off
    │   └── WorkbookTooLarge  an XLSX workbook that would decompress past the bounds
    ├── MissingColumns        required contract columns have no header in the extract
    │   └── HeaderElsewhere   ... because they are on a later line (a title above them)
    ├── LoadModeNotAllowed    an upload asked for a load mode its source does not allow
    └── SourceUnavailable     a database or HTTP API could not be reached or answered an error

Messages name the file, URL (without credentials) or column, the rule, and the next step;
never a cell value.
"""

from __future__ import annotations

from schemas.errors import DataHubError, ExitCode


class ConnectorError(DataHubError):
    """Base of every error raised by `connectors`."""

    status = 422
    exit_code = ExitCode.BAD_INPUT


class SourceInvalid(ConnectorError):
    status = 500  # source YAMLs are server configuration

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"source file {source} is invalid: {problem}; fix the YAML and retry")


class ExtractUnreadable(ConnectorError):
    def __init__(self, location: str, problem: str, hint: str = "") -> None:
        self.location = location
        self.problem = problem
        self.hint = hint
        tail = f"; {hint}" if hint else ""
        super().__init__(f"cannot read {location}: {problem}{tail}")


class EncodingMismatch(ExtractUnreadable):
    def __init__(self, location: str, encoding: str, line: int, hint: str = "") -> None:
        self.encoding = encoding
        self.line = line
        super().__init__(
            location,
            f"line {line} is not valid {encoding}",
            hint or "save the file as UTF-8, or ask the hub's administrator to set the "
            "source's encoding (gbk, gb18030, utf-8)",
        )


class ExtractTruncated(ExtractUnreadable):
    """The last line of a text extract is incomplete."""

    def __init__(self, location: str, line: int) -> None:
        self.line = line
        super().__init__(location, f"the file ends in the middle of line {line}: it was cut off",
                         "send the whole file again")


class WorkbookTooLarge(ExtractUnreadable):
    """An XLSX workbook whose declared decompressed size or shared-string count is over the
    bound, refused before openpyxl reads it."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(location, problem,
                         "split the workbook into smaller files or export it as CSV")


class MissingColumns(ConnectorError):
    def __init__(self, location: str, dataset: str, version: str,
                 missing: dict[str, str | None]) -> None:
        # missing: contract column -> the department header the source YAML expects
        self.location = location
        self.dataset = dataset
        self.version = version
        self.missing = missing
        parts = ", ".join(
            f"'{col}' (header '{hdr}')" if hdr else f"'{col}' (not mapped)"
            for col, hdr in missing.items()
        )
        super().__init__(
            f"{location} lacks required columns of contract {dataset} v{version}: {parts}; "
            "add the columns to the extract (with these headers), or ask the hub's "
            "administrator to map the file's own headers"
        )


class HeaderElsewhere(MissingColumns):
    """The expected headers are on a later line (a title above the table)."""

    def __init__(self, location: str, dataset: str, version: str,
                 missing: dict[str, str | None], header_row: int, found_on: int) -> None:
        super().__init__(location, dataset, version, missing)
        self.header_row = header_row
        self.found_on = found_on
        self.args = (
            f"{location}: the headers the hub expects are on line {found_on}, not on line "
            f"{header_row}; delete the {found_on - header_row} line(s) above them (a title) "
            f"and send the file again, or ask the hub's administrator to set the source's "
            f"header_row to {found_on}",)

    def __str__(self) -> str:
        return str(self.args[0])


class LoadModeNotAllowed(ConnectorError):
    """An upload asked for a load mode its source does not allow."""

    def __init__(self, source: str, requested: str, allowed: list[str]) -> None:
        self.source = source
        self.requested = requested
        self.allowed = allowed
        super().__init__(
            f"source '{source}' does not take uploads in that load mode (it allows: "
            f"{', '.join(allowed)}); send the extract with one of those modes, or ask the "
            "hub's administrator")


class SourceUnavailable(ConnectorError):
    status = 502

    def __init__(self, location: str, problem: str) -> None:
        self.location = location
        self.problem = problem
        super().__init__(f"source {location} is unavailable: {problem}; "
                         "retry later or check the source YAML")
