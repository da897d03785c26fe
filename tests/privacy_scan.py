"""The privacy scanner of the tests: what a byte string gives away about demo residents.

A hit is any ID-shaped number whose check character is right (whoever it belongs to), any
mobile-phone-shaped number, or any demo resident's ID number, phone or name in any spelling
the department extracts use (full-width digits, spaces, lower-case x, phone separators).
Hits are labels with offsets, never the values, so a failing test does not print them.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from hub.demo import DemoManifest

# Bounded by anything but letters and digits: a run of digits inside a hex digest, or a grid
# code stored next to a key in a database page, is not an identifier (both are common).
ID_PATTERN = re.compile(rb"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
PHONE_PATTERN = re.compile(rb"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_FULL_WIDTH = str.maketrans("０１２３４５６７８９ｘＸ", "0123456789xX")
_NUMBERS = re.compile(r"[0-9Xx-]{7,}")
_HAN = re.compile(r"[\u3400-\u9fff·]{2,}")


def valid_id(candidate: str) -> bool:
    total = sum(int(c) * w for c, w in zip(candidate[:17], _WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == candidate[17].upper()


def number_form(text: str) -> str:
    return text.translate(_FULL_WIDTH).replace(" ", "").upper()


@dataclass(frozen=True)
class Needles:
    """The raw identifiers of a demo district, as its extracts write them and normalised."""

    names: frozenset[str]  # two characters or more
    ids: frozenset[str]
    phones: frozenset[str]

    @classmethod
    def of(cls, demo: DemoManifest) -> Needles:
        grid = pd.read_csv(demo.datasets["grid"].path, dtype=str, encoding="utf-8")
        jobs = pd.read_json(demo.datasets["employment"].path, lines=True, dtype=False)
        phones = {str(p) for p in [*grid["联系电话"].dropna(), *jobs["lxdh"].dropna()]}
        names = {str(n) for n in [*grid["姓名"].dropna(), *jobs["xm"].dropna()]
                 if len(str(n)) >= 2}
        raw_ids = {str(i) for i in [*grid["身份证号"].dropna(), *jobs["zjhm"].dropna()]}
        ids = {number_form(i) for i in raw_ids} | raw_ids
        phones |= {number_form(p).replace("-", "") for p in phones}
        return cls(frozenset(names), frozenset(ids), frozenset(phones))


def privacy_hits(data: bytes, needles: Needles, patterns: bool = True) -> list[str]:
    """Labels (with offsets for the patterns) of everything in `data` that a scan flags;
    `patterns=False` looks for the district's own identifiers and names only."""
    hits = [f"id-pattern@{m.start()}" for m in ID_PATTERN.finditer(data)
            if valid_id(m.group().decode())] if patterns else []
    if patterns:
        hits += [f"phone-pattern@{m.start()}" for m in PHONE_PATTERN.finditer(data)]
    text = data.decode("utf-8", errors="replace").translate(_FULL_WIDTH).replace(" ", "")
    for token in _NUMBERS.findall(text):
        for part in {token, token.upper(), token.replace("-", ""), *token.split("-")}:
            if part.upper() in needles.ids or part in needles.phones:
                hits.append("demo-id-or-phone")
    for run in _HAN.findall(text):  # every 2-4 character piece of every run of Han text
        pieces = {run[i:i + n] for n in (2, 3, 4) for i in range(len(run) - n + 1)}
        hits += ["demo-name" for _ in pieces & needles.names]
    return hits


def database_text(path: Path) -> bytes | None:
    """Every text value of a DuckDB or SQLite file, one per line (None: not a database).

    Databases compress and page their strings, so a byte scan alone could miss a value that
    is there; the scan reads them through the database as well."""
    head = path.read_bytes()[:64]
    values: list[str] = []
    if head.startswith(b"SQLite format 3\x00"):
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'")]
            for table in tables:
                for row in con.execute(f'SELECT * FROM "{table}"'):
                    values += [v for v in row if isinstance(v, str)]
        return "\n".join(values).encode()
    if head[8:12] == b"DUCK":
        con = duckdb.connect(str(path), read_only=True,
                             config={"autoinstall_known_extensions": False})
        try:
            columns = con.execute(
                "SELECT table_catalog, table_schema, table_name, column_name "
                "FROM information_schema.columns WHERE data_type IN ('VARCHAR', 'JSON') "
                "AND table_schema NOT IN ('information_schema', 'pg_catalog')").fetchall()
            for catalog, schema, table, column in columns:
                values += [v for (v,) in con.execute(
                    f'SELECT DISTINCT "{column}"::VARCHAR FROM "{catalog}"."{schema}"."{table}" '
                    f'WHERE "{column}" IS NOT NULL').fetchall()]
        finally:
            con.close()
        return "\n".join(values).encode()
    return None


def scan_files(paths: list[Path], needles: Needles) -> dict[str, list[str]]:
    """{file: its first hits} for every file with a hit, in its bytes or (for a database)
    in any of its text values."""
    found = {}
    for path in paths:
        decoded = database_text(path)
        # A database page may cut a value anywhere (a batch id's timestamp digits look like a
        # phone number once cut): its bytes are searched for the district's own identifiers,
        # the shapes of identifiers are looked for in its whole values.
        hits = privacy_hits(path.read_bytes(), needles, patterns=decoded is None)[:5]
        if decoded is not None:
            hits += [f"value:{h}" for h in privacy_hits(decoded, needles)[:5]]
        if hits:
            found[str(path)] = hits
    return found
