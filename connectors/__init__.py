"""Connectors: read a department's extract (file, database or HTTP API) as described by its
source YAML, and map it onto a contract.

    reader = open_reader(spec, path)                 # ExtractUnreadable, SourceUnavailable, ...
    check_headers(spec, contract, reader.headers(), reader.location)   # MissingColumns
    for raw in reader.chunks(100_000):               # RawChunk: department columns as text
        mapped = map_chunk(spec, contract, raw)      # MappedChunk: contract columns, typed

A reader yields at least one chunk (an empty one for an extract without rows), so the
consumer always sees the columns.
"""

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
