"""Errors raised while reading a department's extract.

    ConnectorError (DataHubError)
    ├── SourceInvalid         the source YAML is wrong (names the YAML file and the field)
    ├── ExtractUnreadable     the extract cannot be read at all: empty, binary garbage,
    │   │                     truncated archive, too large, wrong format (names the file)
    │   └── EncodingMismatch  bytes that are not valid in the declared/detected encoding
    │                         (names the file, line and encoding; suggests the right one)
    ├── MissingColumns        required contract columns have no header in the extract
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
            hint or "set `encoding:` in the source YAML to the file's real encoding "
            "(gbk, gb18030, utf-8)",
        )


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
            "add the columns to the extract or fix `columns:` in the source YAML"
        )


class SourceUnavailable(ConnectorError):
    status = 502

    def __init__(self, location: str, problem: str) -> None:
        self.location = location
        self.problem = problem
        super().__init__(f"source {location} is unavailable: {problem}; "
                         "retry later or check the source YAML")
