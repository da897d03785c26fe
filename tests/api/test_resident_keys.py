"""The look-up hot path (hub.api.lookup) gives exactly the pipeline's resident key for every
kind of input, and reads the current generation's document as published."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from catalog.db import create_state_engine
from desensitize.pseudonym import Pseudonymiser
from hub.api.lookup import ResidentDocuments, ResidentKeys, canonical_valid_id
from hub.state.migrate import upgrade_state
from hub.views.read import resident_key_for_id_number

TODAY = date(2026, 6, 1)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _with_check(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS,
                                                                    strict=True)) % 11]


def _inputs() -> list[str]:
    valid = [_with_check(f"110105{y:04d}{m:02d}{d:02d}{s:03d}")
             for y, m, d, s in [(1941, 2, 3, 123), (2000, 2, 29, 7), (1900, 1, 1, 1),
                                (2026, 6, 1, 2), (1985, 12, 31, 999)]]
    with_x = next(_with_check(f"11010519800101{s:03d}") for s in range(1000)
                  if _with_check(f"11010519800101{s:03d}").endswith("X"))
    future = _with_check(f"110105{(TODAY + timedelta(days=1)):%Y%m%d}001")
    wrong_check = valid[0][:17] + ("0" if valid[0][17] != "0" else "1")
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in valid[1])
    return [*valid, with_x, with_x.lower(), with_x[:17], future, wrong_check,
            _with_check("11010519990230001"),  # 30 February
            _with_check("11010518991231001"),  # before 1900
            _with_check("99999919800101001"),  # unknown area code: a warning, still a key
            full_width, f" {valid[2][:6]} {valid[2][6:]} ", valid[3] + ".0",
            "110105410203123",  # 15-digit legacy number
            "1.10105E+17", "", "   ", "abc", valid[0] + "1", "X" * 18,
            # ASCII damage that upper-casing and dropping separators undo
            f"{with_x[:6]}-{with_x[6:14]}-{with_x[14:].lower()}", f"\t{with_x.lower()}\n",
            f"{valid[1][:9]} {valid[1][9:]}", wrong_check.replace("1", " 1", 1),
            with_x[:17] + " x", with_x[:17] + "-", "-" * 18, " x ",
            wrong_check[:17] + "x", valid[0][:16] + "xX", full_width[:17] + "\uff38",
            with_x[:17] + "\uff58", "\u3000" + full_width.replace("\uff11", "１-", 1)]


@pytest.fixture(scope="module")
def master_key() -> bytes:
    return secrets.token_bytes(32)


def test_keys_match_the_pipeline_for_every_kind_of_input(master_key: bytes) -> None:
    keys = ResidentKeys(master_key)
    with Pseudonymiser(master_key) as reference:
        for raw in _inputs():
            assert keys.key(raw, TODAY) == resident_key_for_id_number(raw, reference, TODAY), \
                f"input #{_inputs().index(raw)}"


_DAMAGE = st.sampled_from([" ", "-", "\t", "x", "X", "\u3000", "'", ".0", "１", "",
                           "Ｘ", "ｘ", "－", "\u2010", "\u00a0", "=", "E"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, len(_inputs()) - 1), st.lists(st.tuples(st.integers(0, 20), _DAMAGE),
                                                    max_size=3), st.booleans())
def test_damaged_numbers_get_the_pipelines_key(master_key: bytes, which: int,
                                               damage: list[tuple[int, str]],
                                               lower: bool) -> None:
    raw = _inputs()[which]
    for at, piece in damage:
        raw = raw[:at] + piece + raw[at:]
    raw = raw.lower() if lower else raw
    with Pseudonymiser(master_key) as reference:
        assert ResidentKeys(master_key).key(raw, TODAY) == \
            resident_key_for_id_number(raw, reference, TODAY)


def test_only_clean_valid_numbers_take_the_fast_path() -> None:
    inputs = _inputs()
    fast = [raw for raw in inputs if canonical_valid_id(raw, TODAY)]
    assert len(fast) == 7  # five valid, one with X, one with an unknown area code
    assert all(len(raw) == 18 and raw.isascii() for raw in fast)


def test_a_key_mismatch_disables_the_fast_path(master_key: bytes,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import hub.api.lookup as lookup

    monkeypatch.setattr(lookup, "DOMAIN_PREFIX", b"some/other/derivation/")
    keys = lookup.ResidentKeys(master_key)
    raw = _inputs()[0]
    with Pseudonymiser(master_key) as reference:
        assert keys.key(raw, TODAY) == resident_key_for_id_number(raw, reference, TODAY)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return create_state_engine(f"sqlite:///{tmp_path / 'state.sqlite'}")


@pytest.fixture
def any_engine(state_url: str) -> Engine:
    """A migrated state store on SQLite, then on PostgreSQL."""
    engine = create_state_engine(state_url)
    upgrade_state(engine)
    return engine


def test_nothing_published_reads_as_no_document(engine: Engine) -> None:
    assert ResidentDocuments(engine).text("0" * 32) is None
    engine.dispose()


def test_nothing_published_on_postgresql_reads_as_no_document(postgres_url: str) -> None:
    engine = create_state_engine(postgres_url)  # no tables at all yet
    docs = ResidentDocuments(engine)
    assert docs.text("0" * 32) is None
    assert docs.text("0" * 32) is None  # the failed statement left no broken reader behind
    docs.close()
    engine.dispose()


def test_documents_come_from_the_current_generation_as_stored(any_engine: Engine) -> None:
    from datetime import UTC, datetime

    from hub.views.store import view_residents, view_state

    engine = any_engine
    now = datetime.now(UTC)
    row = {"household_key": None, "street_code": "110105001", "community_code": None,
           "grid_code": None, "special_groups": "", "has_overlap": False,
           "has_missed_benefit": False, "masked_name": None, "age_band": None,
           "updated_at": now}
    with engine.begin() as conn:
        conn.execute(view_residents.insert(), [
            {**row, "generation": 1, "resident_key": "a" * 32, "document": '{"g": 1}'},
            {**row, "generation": 2, "resident_key": "a" * 32, "document": '{"g":2 }'},
            {**row, "generation": 2, "resident_key": "b" * 32, "document": '{"g": 2}'}])
        conn.execute(view_state.insert().values(name="current", generation=2,
                                                published_at=now, summary="{}"))
    docs = ResidentDocuments(engine)
    assert docs.text("a" * 32) == '{"g":2 }'  # byte for byte, current generation only
    assert docs.text("c" * 32) is None
    with engine.begin() as conn:
        conn.execute(view_state.update().values(generation=1))
    assert docs.text("a" * 32) == '{"g": 1}'
    assert docs.text("b" * 32) is None
    docs.close()
    engine.dispose()
