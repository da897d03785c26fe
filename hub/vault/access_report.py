"""A resident's right to know: who looked at their data, when, for what purpose.

The audit log records resident pseudonyms, never ID numbers, and keeps the key that was
current when each record was written. So the report turns the ID number into the resident's
current key, adds the keys it had before every pseudonym rotation (the sealed key history in
the vault store, opened with the vault key), adds the resident's household keys (current and
earlier: household reads are about every member) and lists every audit record about any of
them: resident reads and searches, reveals, household reads and earlier access reports,
granted or refused.

Read-only on the audit log; the caller (CLI, admin endpoint) records the report itself.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from catalog.db import create_state_engine
from desensitize.errors import VaultDecryptFailed
from desensitize.keys import KeyRing
from desensitize.pseudonym import Pseudonymiser
from desensitize.vault import VaultCipher
from hub.audit.log import audit_events
from hub.errors import HubError
from hub.keys.config import load_keyring
from hub.keys.history import HOUSEHOLD_DOMAIN, RESIDENT_DOMAIN, open_previous
from hub.settings import HubSettings
from hub.vault.store import VaultStore, VaultStoreMissing
from hub.views.read import ViewReader
from schemas.errors import ExitCode
from schemas.identity import normalise_resident_id

ID_FIELD = "id_number"
HOUSEHOLD_READ = "household.read"
_IN_CHUNK = 500  # keys per IN (...) list: far below SQLite's bound-parameter limit


class IdNumberInvalid(HubError):
    """The ID number given for an access report is not a valid resident ID."""

    status = 422
    exit_code = ExitCode.BAD_INPUT

    def __init__(self, rule: str) -> None:
        self.field = ID_FIELD
        self.rule = rule
        super().__init__(f"{ID_FIELD}: not a valid resident ID number (rule {rule}); check "
                         "the number on the resident's ID card and type it again")


@dataclass(frozen=True)
class AccessEvent:
    seq: int
    at: str
    actor: str  # the token's name (or "anonymous", or the CLI user); never the token secret
    token_id: str | None
    role: str
    action: str
    purpose: str | None
    outcome: str
    subject: str  # "resident" or "household"
    earlier_key: bool  # recorded under a pseudonym that a rotation has since replaced

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AccessReport:
    resident_key: str  # current pseudonym: the caller audits the report under it
    events: list[AccessEvent]
    resident_keys: int  # how many keys (current + earlier) were searched
    household_keys: int
    history_available: bool  # False before the first publish (no vault store yet)


def resident_key_of(pseudonymiser: Pseudonymiser, id_number: str,
                    today: date | None = None) -> str:
    """The current resident key of an ID number as typed; IdNumberInvalid naming the rule."""
    result = normalise_resident_id(pd.Series([id_number], dtype="string"),
                                   today or date.today())
    value = result.values.iloc[0]
    if not bool(result.ok.iloc[0]) or value is pd.NA:
        error = result.error.iloc[0]
        raise IdNumberInvalid("resident_id:format" if error is pd.NA else str(error))
    return str(pseudonymiser.pseudonymise(pd.Series([value], dtype="string"),
                                          RESIDENT_DOMAIN).iloc[0])


def _earlier(store: VaultStore, cipher: VaultCipher, domain: str, key: str) -> set[str]:
    """Every earlier key of `key`. The rotation re-seals the whole history under each new
    key; following the chain as well costs nothing and also covers a one-step history."""
    found: set[str] = set()
    todo = [key]
    while todo:
        current = todo.pop()
        for sealed in store.history(domain, current):
            previous = open_previous(cipher, domain, current, sealed)
            if previous != key and previous not in found:
                found.add(previous)
                todo.append(previous)
    return found


def _households(store: VaultStore, cipher: VaultCipher, pseudonymiser: Pseudonymiser,
                resident_key: str) -> set[str]:
    """Current household keys from the vaulted household numbers of the resident."""
    key_ad = resident_key.encode("utf-8")
    plain = [cipher.open(c, [f.encode("utf-8"), key_ad]).decode("utf-8")
             for f, c, _ in store.entries(resident_key) if f == HOUSEHOLD_DOMAIN]
    if not plain:
        return set()
    keys = pseudonymiser.pseudonymise(pd.Series(plain, dtype="string"), HOUSEHOLD_DOMAIN)
    return {str(k) for k in keys.dropna()}


def _split_actor(actor: str) -> tuple[str | None, str]:
    token_id, sep, name = actor.partition(":")
    return (token_id, name) if sep else (None, actor)


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i:i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]


def _records(engine: Engine, keys: list[str], household_keys: list[str]) -> list[Any]:
    t = audit_events
    columns = (t.c.seq, t.c.at, t.c.actor, t.c.role, t.c.action, t.c.purpose, t.c.outcome,
               t.c.resident_key, t.c.detail)
    rows: dict[int, Any] = {}
    with engine.connect() as conn:
        for part in _chunks(keys + household_keys):  # indexed on resident_key
            for row in conn.execute(select(*columns).where(t.c.resident_key.in_(part))):
                rows[row.seq] = row
        # Household reads name the household in `detail`: one scan of those records.
        details = [f"household {k}" for k in household_keys]
        for part in _chunks(details):
            for row in conn.execute(select(*columns).where(t.c.action == HOUSEHOLD_READ,
                                                           t.c.detail.in_(part))):
                rows[row.seq] = row
    return [rows[seq] for seq in sorted(rows)]


def build_access_report(settings: HubSettings, id_number: str, *, engine: Engine | None = None,
                        keyring: KeyRing | None = None, today: date | None = None
                        ) -> AccessReport:
    keyring = keyring or load_keyring(settings)
    own_engine = engine is None
    engine = engine or create_state_engine(settings.resolved_state_url)
    try:
        with Pseudonymiser(keyring.pseudonym_key) as pseudonymiser:
            current = resident_key_of(pseudonymiser, id_number, today)
            resident_keys, household_keys = {current}, set()
            document = ViewReader(engine).resident(current)
            household = (document or {}).get("household") or {}
            if household.get("household_key"):
                household_keys.add(str(household["household_key"]))
            history = True
            try:
                store = VaultStore(settings.vault_store_path, read_only=True)
            except VaultStoreMissing:
                history = False
            if history:
                with contextlib.closing(store):
                    cipher = VaultCipher(keyring.vault_key)
                    household_keys |= _households(store, cipher, pseudonymiser, current)
                    current_keys = {current, *household_keys}
                    resident_keys |= _earlier(store, cipher, RESIDENT_DOMAIN, current)
                    for key in list(household_keys):
                        household_keys |= _earlier(store, cipher, HOUSEHOLD_DOMAIN, key)
            else:
                current_keys = {current, *household_keys}
        rows = _records(engine, sorted(resident_keys), sorted(household_keys - resident_keys))
    finally:
        if own_engine:
            engine.dispose()
    events = []
    for row in rows:
        token_id, name = _split_actor(str(row.actor))
        household_row = row.action == HOUSEHOLD_READ or row.resident_key in household_keys
        key = row.resident_key or str(row.detail or "").removeprefix("household ")
        events.append(AccessEvent(
            seq=int(row.seq), at=str(row.at), actor=name, token_id=token_id, role=str(row.role),
            action=str(row.action), purpose=row.purpose, outcome=str(row.outcome),
            subject="household" if household_row else "resident",
            earlier_key=key not in current_keys))
    return AccessReport(current, events, len(resident_keys), len(household_keys), history)


def access_report(settings: HubSettings, id_number: str) -> list[AccessEvent]:
    """Every audit record about the resident with this ID number, oldest first.

    Raises IdNumberInvalid (field and rule, never the value) for a number that is not a
    valid resident ID, VaultDecryptFailed if the key history does not open with the vault key.
    """
    return build_access_report(settings, id_number).events


__all__ = ["AccessEvent", "AccessReport", "IdNumberInvalid", "VaultDecryptFailed",
           "access_report", "build_access_report", "resident_key_of"]
