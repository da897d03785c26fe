"""De-identification: keyed pseudonyms, the encrypted re-identification vault, generalisation
and display masking. Depends only on `schemas`.

    keys        KeyRing: the pseudonym and vault keys, in files outside both databases
    pseudonym   Pseudonymiser: HMAC-SHA256 pseudonyms, vectorised in DuckDB
    vault       VaultCipher: deterministic AES-SIV bound to field and resident key
    generalise  birth year, age band, community of a grid cell
    masking     masked ID, name and phone for display
    deidentify  Deidentifier: applies a contract's deid rules to a validated frame
"""

# Submodules load on first use (PEP 562): `import desensitize.errors` must not pull in
# pandas and DuckDB, so the command line starts quickly.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from desensitize.deidentify import VAULT_COLUMNS, Deidentifier, DeidResult
    from desensitize.generalise import AGE_BANDS, age_band, birth_year, community_of_grid
    from desensitize.keys import KeyRing
    from desensitize.masking import mask_id, mask_name, mask_phone
    from desensitize.pseudonym import Pseudonymiser, hmac_sha256_hex
    from desensitize.vault import VaultCipher

_SOURCES = {
    "AGE_BANDS": "desensitize.generalise",
    "DeidResult": "desensitize.deidentify",
    "Deidentifier": "desensitize.deidentify",
    "KeyRing": "desensitize.keys",
    "Pseudonymiser": "desensitize.pseudonym",
    "VAULT_COLUMNS": "desensitize.deidentify",
    "VaultCipher": "desensitize.vault",
    "age_band": "desensitize.generalise",
    "birth_year": "desensitize.generalise",
    "community_of_grid": "desensitize.generalise",
    "hmac_sha256_hex": "desensitize.pseudonym",
    "mask_id": "desensitize.masking",
    "mask_name": "desensitize.masking",
    "mask_phone": "desensitize.masking",
}


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "AGE_BANDS",
    "VAULT_COLUMNS",
    "DeidResult",
    "Deidentifier",
    "KeyRing",
    "Pseudonymiser",
    "VaultCipher",
    "age_band",
    "birth_year",
    "community_of_grid",
    "hmac_sha256_hex",
    "mask_id",
    "mask_name",
    "mask_phone",
]
