"""Why the pseudonym is keyed: an unkeyed hash of an ID number is reversed by enumeration.

An ID number is area (6 digits) + birth date (8) + sequence (3) + check character. Knowing a
resident's area and birth year leaves 365 x 1,000 candidates: hashing them all takes well
under a second. The first test shows that attack working on an unkeyed SHA-256; the others show
that nothing the hub stores is such a hash, so the same attack finds nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from hub.settings import HubSettings
from schemas.identity import normalise_resident_id
from tests.conftest import DISTRICT_RESIDENTS, DISTRICT_TODAY, DemoDistrict
from tests.privacy_scan import database_text

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
TODAY = DISTRICT_TODAY

UNKEYED: dict[str, Callable[[bytes], str]] = {
    "md5": lambda b: hashlib.md5(b).hexdigest(),
    "sha1": lambda b: hashlib.sha1(b).hexdigest(),
    "sha256": lambda b: hashlib.sha256(b).hexdigest(),
    "sha512": lambda b: hashlib.sha512(b).hexdigest(),
    "sha3_256": lambda b: hashlib.sha3_256(b).hexdigest(),
    "blake2b": lambda b: hashlib.blake2b(b).hexdigest(),
    "sm3-like sha256 of upper+lower": lambda b: hashlib.sha256(b.lower()).hexdigest(),
}


def candidate_ids(area: str, year: int) -> list[str]:
    """Every valid ID number of one area and birth year (both sexes)."""
    start = date(year, 1, 1)
    days = [(start + timedelta(days=d)).strftime("%Y%m%d")
            for d in range((date(year + 1, 1, 1) - start).days)]
    bodies = np.array([[int(c) for c in area + day] for day in days], dtype=np.int64)
    seq = np.array([[s // 100, s // 10 % 10, s % 10] for s in range(1000)], dtype=np.int64)
    digits = np.concatenate(
        [np.repeat(bodies, len(seq), axis=0), np.tile(seq, (len(bodies), 1))], axis=1)
    checks = CHECK[(digits * WEIGHTS).sum(axis=1) % 11]
    text17 = (digits + ord("0")).astype(np.uint8)
    raw = np.concatenate([text17, checks[:, None]], axis=1).tobytes()
    return [raw[i:i + 18].decode("ascii") for i in range(0, len(raw), 18)]


def unkeyed_forms(value: str) -> set[str]:
    """Unkeyed digests of an ID as hex, whole and truncated to common pseudonym widths."""
    forms: set[str] = set()
    for digest in UNKEYED.values():
        full = digest(value.encode("utf-8"))
        forms |= {full, full[:16], full[:32], full[:40], full[:64]}
    return forms


def test_an_unkeyed_hash_is_reversed_by_enumerating_one_area_and_year() -> None:
    secret_id = candidate_ids("110105", 1957)[123_456]  # an ID the attacker does not know
    leaked = hashlib.sha256(secret_id.encode()).hexdigest()

    started = time.perf_counter()
    candidates = candidate_ids("110105", 1957)
    found = [c for c in candidates if hashlib.sha256(c.encode()).hexdigest() == leaked]
    seconds = time.perf_counter() - started

    assert len(candidates) == 365 * 1000
    assert found == [secret_id]
    print(f"reversed an unkeyed SHA-256 from {len(candidates):,} candidates in {seconds:.2f} s")


@pytest.fixture(scope="module")
def ingested(demo_district: DemoDistrict) -> HubSettings:
    """The district's home: every extract ingested, published as of TODAY (read only)."""
    return demo_district.settings


def _raw_ids(demo: Any) -> list[str]:
    grid = pd.read_csv(demo.datasets["grid"].path, dtype=str, encoding="utf-8")
    return sorted(set(normalise_resident_id(grid["身份证号"], TODAY).values.dropna()))


def _stored_texts(settings: HubSettings) -> Iterable[str]:
    """Every text value of the warehouse and of the (SQLite) state store."""
    state = Path(settings.resolved_state_url.removeprefix("sqlite:///"))
    for path in (settings.warehouse_path, state):
        values = database_text(path)
        assert values is not None, path
        yield from (v for v in values.decode().split("\n") if v)


def test_no_stored_value_is_an_unkeyed_hash_of_an_id(ingested: HubSettings, demo: Any) -> None:
    ids = _raw_ids(demo)
    assert len(ids) > 0.95 * DISTRICT_RESIDENTS  # nearly every resident of the district
    forbidden: set[str] = set()
    for value in ids:
        forbidden |= unkeyed_forms(value)
    stored = set(_stored_texts(ingested))
    assert len(stored) > 5_000  # resident keys, household keys, documents, ...
    # Documents are JSON: check every hex word inside them as well as whole values.
    words = set(stored)
    for value in stored:
        if "{" in value:
            words |= {w.strip('"') for w in value.replace(",", " ").replace(":", " ").split()}
    assert not words & forbidden


def test_the_enumeration_attack_finds_no_resident_key(ingested: HubSettings, demo: Any) -> None:
    victim = _raw_ids(demo)[0]
    con = duckdb.connect(str(ingested.warehouse_path), read_only=True,
                         config={"autoinstall_known_extensions": False})
    try:
        keys = {k for (k,) in con.execute(
            "SELECT DISTINCT resident_key FROM curated.grid").fetchall()}
    finally:
        con.close()
    assert len(keys) > 0.95 * DISTRICT_RESIDENTS
    candidates = candidate_ids(victim[:6], int(victim[6:10]))
    assert victim in candidates  # the attacker's space holds the victim...
    hits = [c for c in candidates
            if hashlib.sha256(c.encode()).hexdigest()[:32] in keys
            or hashlib.md5(c.encode()).hexdigest() in keys]
    assert hits == []  # ...but no unkeyed digest of any candidate is a stored key
