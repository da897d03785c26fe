"""Writers for the text extract formats: CSV (UTF-8 or GBK) and JSON Lines (see xlsx.py for
the workbook). Both are byte-for-byte deterministic."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from hub.demo.textops import join, joined_bytes


def write_csv(table: pa.Table, path: Path, encoding: str = "utf-8", eol: str = "\n",
              quoting: str = "none") -> None:
    """CSV in `encoding`, unquoted by default (most extracts' values never hold commas, quotes
    or newlines); quoting="needed" quotes the values that do, as a spreadsheet saves them."""
    options = pacsv.WriteOptions(quoting_style=quoting, quoting_header="none", eol=eol)
    if encoding == "utf-8":
        pacsv.write_csv(table, str(path), options)
        return
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, options)
    text = sink.getvalue().to_pybytes().decode("utf-8")
    path.write_bytes(text.encode(encoding))


def write_jsonl(columns: dict[str, tuple[pa.Array, bool]], path: Path) -> None:
    """One JSON object per line; columns: key -> (values, quoted). Nulls become `null`.

    Values are digits, codes and Chinese names without quotes or backslashes, so they need
    no escaping; this is checked rather than assumed."""
    fragments = []
    keys = list(columns)
    for i, (key, (values, quoted)) in enumerate(columns.items()):
        if quoted and pc.any(pc.match_substring_regex(values, r'["\\]')).as_py():
            raise ValueError(f"column {key} holds characters that need JSON escaping")
        # The braces and newline ride on the first and last fragments: one join per column.
        head = ("{" if i == 0 else "") + f'"{key}":'
        tail = "}\n" if i == len(keys) - 1 else ""
        quote = '"' if quoted else ""
        text = join(head + quote, values, quote + tail)
        fragments.append(pc.fill_null(text, head + "null" + tail))
    path.write_bytes(joined_bytes(join(*fragments, sep=",")))
