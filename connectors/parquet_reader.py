"""Parquet extracts, read batch by batch; every column is cast to text (dates ISO, decimals
as plain decimal text, integral floats without ".0") so the shared parsers type them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from connectors.base import RawChunk
from connectors.cells import arrow_text, check_header_names, frame_from_arrow
from connectors.errors import ExtractUnreadable
from connectors.sniff import check_file
from connectors.source import SourceSpec


class ParquetReader:
    def __init__(self, path: Path, spec: SourceSpec, max_bytes: int) -> None:
        self.path = path
        self.location = str(path)
        check_file(path, max_bytes)
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError) as exc:
            raise ExtractUnreadable(
                self.location, f"truncated or not a Parquet file ({exc.__class__.__name__})",
                "export the Parquet file again") from exc
        self._headers = list(schema.names)
        check_header_names(self.location, self._headers)

    def headers(self) -> list[str]:
        return list(self._headers)

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        first = 1
        emitted = False
        try:
            with pq.ParquetFile(self.path) as pf:
                for batch in pf.iter_batches(batch_size=chunk_rows):
                    columns = {h: arrow_text(batch.column(i))
                               for i, h in enumerate(self._headers)}
                    index = np.arange(first, first + batch.num_rows, dtype=np.int64)
                    first += batch.num_rows
                    emitted = True
                    yield RawChunk(frame_from_arrow(columns, index))
        except (pa.ArrowException, OSError) as exc:
            raise ExtractUnreadable(
                self.location, f"truncated or damaged Parquet file ({exc.__class__.__name__})",
                "export the Parquet file again") from exc
        if not emitted:
            columns = {h: pa.array([], pa.string()) for h in self._headers}
            yield RawChunk(frame_from_arrow(columns, np.empty(0, dtype=np.int64)))
