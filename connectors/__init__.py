"""Connectors: read a department's extract (file, database or HTTP API) as described by its
source YAML, and map it onto a contract.

    reader = open_reader(spec, path)                 # ExtractUnreadable, SourceUnavailable, ...
    check_headers(spec, contract, reader.headers(), reader.location)   # MissingColumns
    for raw in reader.chunks(100_000):               # RawChunk: department columns as text
        mapped = map_chunk(spec, contract, raw)      # MappedChunk: contract columns, typed

A reader yields at least one chunk (an empty one for an extract without rows), so the
consumer always sees the columns.
"""

# Submodules load on first use (PEP 562): `import connectors.errors` must not pull in
# pandas and pyarrow, so the command line starts quickly.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.base import MappedChunk, RawChunk, Reader
    from connectors.errors import (
                                   ConnectorError,
                                   EncodingMismatch,
                                   ExtractUnreadable,
                                   MissingColumns,
                                   SourceInvalid,
                                   SourceUnavailable,
    )
    from connectors.mapping import check_headers, map_chunk
    from connectors.open import open_reader
    from connectors.source import SourceSpec, load_source, shipped_sources

_SOURCES = {
    "ConnectorError": "connectors.errors",
    "EncodingMismatch": "connectors.errors",
    "ExtractUnreadable": "connectors.errors",
    "MappedChunk": "connectors.base",
    "MissingColumns": "connectors.errors",
    "RawChunk": "connectors.base",
    "Reader": "connectors.base",
    "SourceInvalid": "connectors.errors",
    "SourceSpec": "connectors.source",
    "SourceUnavailable": "connectors.errors",
    "check_headers": "connectors.mapping",
    "load_source": "connectors.source",
    "map_chunk": "connectors.mapping",
    "open_reader": "connectors.open",
    "shipped_sources": "connectors.source",
}


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "ConnectorError",
    "EncodingMismatch",
    "ExtractUnreadable",
    "MappedChunk",
    "MissingColumns",
    "RawChunk",
    "Reader",
    "SourceInvalid",
    "SourceSpec",
    "SourceUnavailable",
    "check_headers",
    "load_source",
    "map_chunk",
    "open_reader",
    "shipped_sources",
]
