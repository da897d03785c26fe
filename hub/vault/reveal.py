"""Re-identification: open a resident's raw identifiers from the vault store.

The API process reads the vault store (hub.vault.store, the pipeline worker's copy of the
warehouse vault) and opens each ciphertext with the vault key, loaded on the first reveal
only: an API that never reveals never holds it. Who may reveal, the purpose, the rate limit
and the audit record are the route's business (hub.api.routers.residents); this module answers
"what are this resident's identifiers and where did each come from".

Settings: `settings.reveal` (hub.settings.RevealSettings, `HUB_REVEAL_*`): whether street
offices may reveal their own residents, and the reveals per actor per window.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from desensitize.vault import VaultCipher
from hub.keys.config import load_keyring
from hub.settings import HubSettings
from hub.vault.store import VaultStore

# The vaulted fields of the contracts, in the order a reveal lists them; a field the
# contracts add later is listed after these.
VAULT_FIELDS = ("resident_id", "name", "phone", "address", "household_id")
CASE_REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,39}$"
# A case number has a few digits; an ID number (15/18) or a phone (11) typed into the
# field would put a raw identifier into the audit log, so long digit runs are refused.
_LONG_DIGIT_RUN = re.compile(r"[0-9]{9,}")


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"purpose": "case_management", "case_reference": "SO-2026-0042"}]})

    purpose: str | None = Field(default=None, max_length=64,
                                description="why the raw identifiers are needed (fixed list "
                                            "of reveal purposes); required")
    case_reference: str = Field(
        min_length=3, max_length=40, pattern=CASE_REFERENCE_PATTERN,
        description="the case this reveal serves: 3-40 letters, digits and . _ : / -, at "
                    "most 8 digits in a row (never an ID number or phone)")

    @field_validator("case_reference")
    @classmethod
    def _no_identifier(cls, value: str) -> str:
        if _LONG_DIGIT_RUN.search(value):
            raise PydanticCustomError("case_reference_digits",
                                      "more than 8 digits in a row (looks like an identifier)")
        return value


def _field_order(field: str) -> tuple[int, str]:
    return (VAULT_FIELDS.index(field) if field in VAULT_FIELDS else len(VAULT_FIELDS), field)


class Revealer:
    """One per API process; thread-safe (the cipher is immutable, the store opened per call)."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self._cipher: VaultCipher | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Revealer({self.settings.vault_store_path})"

    def cipher(self) -> VaultCipher:
        with self._lock:
            if self._cipher is None:
                self._cipher = VaultCipher(load_keyring(self.settings).vault_key)
            return self._cipher

    def reveal(self, resident_key: str, dataset_of: Callable[[str], str | None]
               ) -> dict[str, list[dict[str, Any]]]:
        """field -> [{value, sources: [{dataset, batch_id}]}], empty if the vault has nothing.

        The vault keeps each distinct value once, with the batch that first delivered it, so
        `sources` names that batch. Raises VaultStoreMissing before the first publish and
        VaultDecryptFailed if an entry does not open (wrong key, moved or altered entry)."""
        with VaultStore(self.settings.vault_store_path, read_only=True) as store:
            entries = store.entries(resident_key)
        if not entries:
            return {}
        cipher = self.cipher()
        key_ad = resident_key.encode("utf-8")
        values: dict[str, dict[str, list[str]]] = {}
        for field, ciphertext, batch_id in entries:
            plain = cipher.open(ciphertext, [field.encode("utf-8"), key_ad]).decode("utf-8")
            values.setdefault(field, {}).setdefault(plain, []).append(batch_id)
        datasets: dict[str, str | None] = {}
        out: dict[str, list[dict[str, Any]]] = {}
        for field in sorted(values, key=_field_order):
            items = []
            for plain, batches in values[field].items():
                sources = []
                for batch_id in sorted(set(batches)):
                    if batch_id not in datasets:
                        datasets[batch_id] = dataset_of(batch_id)
                    sources.append({"dataset": datasets[batch_id], "batch_id": batch_id})
                items.append({"value": plain, "sources": sources})
            out[field] = items
        return out
