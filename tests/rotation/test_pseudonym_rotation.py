"""Pseudonym key rotation drill: every key changes, nothing else does."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient

from catalog.db import create_state_engine
from catalog.quality_store import QualityStore
from desensitize.pseudonym import Pseudonymiser
from desensitize.vault import VaultCipher
from hub.api.app import create_app
from hub.audit.log import AuditLog
from hub.keys.config import load_security_keys
from hub.keys.history import open_previous
from hub.pipeline.worker import PipelineWorker
from hub.rotation import run
from hub.security.tokens import TokenStore
from hub.settings import HubSettings
from hub.state.migrate import upgrade_state
from hub.vault.access_report import build_access_report
from schemas.identity import normalise_resident_id
from tests.rotation.conftest import District
from tests.rotation.rotation_kit import (
    documents,
    household_normal_form,
    key_map,
    query,
    read_key,
    substitute,
)

_LEDGER = "SELECT * FROM curated.assistance_ledger"


def _finding(settings: HubSettings, resident_key: str) -> dict[str, dict[str, Any]]:
    engine = create_state_engine(settings.resolved_state_url)
    try:
        store = QualityStore(engine)
        upgrade_state(store.engine)
        if resident_key:
            store.refresh_findings(["drill"], [{
                "kind": "drill", "resident_key": resident_key, "datasets": ["grid"],
                "departments": ["grid"], "detail": "a finding made before the rotation"}],
                now=datetime(2026, 10, 1, tzinfo=UTC))
        return {f["resident_key"]: f for f in store.list_findings(kind="drill")}
    finally:
        engine.dispose()


def _audit_read(settings: HubSettings, resident_key: str) -> int:
    engine = create_state_engine(settings.resolved_state_url)
    try:
        log = AuditLog(engine)
        upgrade_state(log.engine)
        seq = log.append(action="resident.read", outcome="granted", actor="drill",
                         role="street_office", purpose="assistance_review",
                         resident_key=resident_key)
        log.close()
        return seq
    finally:
        engine.dispose()


def _street_token(settings: HubSettings, street: str) -> str:
    engine = create_state_engine(settings.resolved_state_url)
    try:
        store = TokenStore(engine, load_security_keys(settings).token_pepper)
        upgrade_state(store.engine)
        return store.create("street_office", [street], "street-drill")[1]
    finally:
        engine.dispose()


def test_pseudonym_rotation_keeps_everything_but_the_keys(home: HubSettings,
                                                          district: District) -> None:
    residents, households = documents(home)
    ledger = query(home, _LEDGER)
    old_key = read_key(home, "pseudonym.key")
    mine, other = _two_streets(district, old_key, residents)
    street = json.loads(residents[mine[1]])["location"]["street_code"]
    token = _street_token(home, street)  # a token made before the rotation
    someone = mine[1]
    _finding(home, someone)
    seq = _audit_read(home, someone)  # an audit record carries the key of its time

    summary = run.rotate(home, "pseudonym", chunk_residents=300)

    new_key = read_key(home, "pseudonym.key")
    assert summary.state == "done"
    assert new_key != old_key
    mapping = key_map(district.demo, old_key, new_key)
    after_residents, after_households = documents(home)
    # Every resident document identical once its keys are replaced by the new ones.
    assert set(after_residents) == {mapping[k] for k in residents}
    for key, text in residents.items():
        assert after_residents[mapping[key]] == substitute(text, mapping)
    assert set(after_households) == {mapping[k] for k in households}
    for key, text in households.items():
        assert household_normal_form(after_households[mapping[key]]) == \
            household_normal_form(substitute(text, mapping))
    # Ledger facts identical (keys substituted), fact for fact.
    assert Counter(tuple(mapping.get(v, v) if isinstance(v, str) else v for v in row)
                   for row in ledger) == Counter(query(home, _LEDGER))
    assert not (home.keys_dir / "pseudonym.key.next").exists()
    assert old_key.hex() not in "".join(p.read_text() for p in home.keys_dir.iterdir())

    # The quality finding followed its resident, first-seen date and all.
    moved = _finding(home, "")
    assert list(moved) == [mapping[someone]]
    assert str(moved[mapping[someone]]["first_seen"]).startswith("2026-10-01")

    # The key history opens with the vault key and links each new key to the old one.
    cipher = VaultCipher(read_key(home, "vault.key"))
    rows = query(home, "SELECT domain, current_key, sealed_previous, epoch FROM vault.key_history")
    inverse = {new: old for old, new in mapping.items()}
    assert len(rows) == len(residents) + len(households)
    for domain, current, sealed, epoch in rows:
        assert epoch == 1
        assert open_previous(cipher, domain, current, sealed) == inverse[current]

    _later_ingest_links_to_the_same_keys(home, district, mapping)
    _street_office_token_still_works(home, token, mine, other, mapping)
    _vault_rotation_reseals_the_history(home, mapping)
    # The access report of the resident still finds the record made under the old key.
    report = build_access_report(home, mine[0], today=district.demo.today)
    assert report.resident_key == mapping[someone]
    events = [(e.seq, e.earlier_key) for e in report.events]
    assert events[0] == (seq, True)  # the API reads after the rotation follow, current key
    assert len(events) > 1
    assert not any(earlier for _, earlier in events[1:])


def _later_ingest_links_to_the_same_keys(home: HubSettings, district: District,
                                         mapping: dict[str, str]) -> None:
    grid = district.demo.datasets["grid"]
    lines = Path(grid.path).read_bytes().splitlines(keepends=True)
    variant = home.home.parent / "grid_next_month.csv"
    variant.write_bytes(lines[0] + b"".join(reversed(lines[1:])))  # new content, same people
    with PipelineWorker(home) as worker:
        result = worker.ingest(Path(grid.source_yaml), variant)
    assert result.outcome == "loaded"
    pairs = query(home, "SELECT batch_id = '" + result.batch_id + "' AS new, resident_key, "
                        "household_key FROM curated.grid")
    old_batch = {(r, h) for new, r, h in pairs if not new}
    assert {(r, h) for new, r, h in pairs if new} == old_batch
    assert {r for r, _ in old_batch} <= set(mapping.values())


def _two_streets(district: District, old_key: bytes, residents: dict[str, str]
                 ) -> tuple[tuple[str, str], tuple[str, str]]:
    """(raw ID, resident key) of a registry resident with a street, and of one elsewhere."""
    grid = pd.read_csv(district.demo.datasets["grid"].path, dtype=str)["身份证号"]
    ids = normalise_resident_id(grid.astype("string"), district.demo.today).values
    with Pseudonymiser(old_key) as p:
        keys = p.pseudonymise(ids, "resident_id")
    streets = {}
    for raw, key in zip(grid, keys, strict=True):
        if key is pd.NA or key not in residents:
            continue
        street = json.loads(residents[key])["location"]["street_code"]
        if street and street not in streets:
            streets[street] = (raw, key)
        if len(streets) == 2:
            break
    first, second = streets.values()
    return first, second


def _street_office_token_still_works(home: HubSettings, token: str, mine: tuple[str, str],
                                     other: tuple[str, str], mapping: dict[str, str]) -> None:
    """The token's scope is a street code, not resident keys: it finds its residents by ID
    number (now under the new key) and still not the residents of another street."""
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(home)) as client:
        answer = client.post("/v1/residents/search", headers=headers,
                             json={"id_number": mine[0], "purpose": "assistance_review"})
        assert answer.status_code == 200
        assert answer.json()["resident_key"] == mapping[mine[1]]
        by_key = client.get(f"/v1/residents/{mapping[mine[1]]}", headers=headers,
                            params={"purpose": "assistance_review"})
        assert by_key.status_code == 200
        elsewhere = client.post("/v1/residents/search", headers=headers,
                                json={"id_number": other[0], "purpose": "assistance_review"})
        assert elsewhere.status_code == 404


def _vault_rotation_reseals_the_history(home: HubSettings, mapping: dict[str, str]) -> None:
    run.rotate(home, "vault", chunk_residents=300)
    cipher = VaultCipher(read_key(home, "vault.key"))
    inverse = {new: old for old, new in mapping.items()}
    rows = query(home, "SELECT domain, current_key, sealed_previous FROM vault.key_history")
    assert rows
    assert all(open_previous(cipher, d, c, s) == inverse[c] for d, c, s in rows)
