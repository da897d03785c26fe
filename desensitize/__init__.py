"""De-identification: keyed pseudonyms, the encrypted re-identification vault, generalisation
and display masking. Depends only on `schemas`.

    keys        KeyRing: the pseudonym and vault keys, in files outside both databases
    pseudonym   Pseudonymiser: HMAC-SHA256 pseudonyms, vectorised in DuckDB
    vault       VaultCipher: deterministic AES-SIV bound to field and resident key
    generalise  birth year, age band, community of a grid cell
    masking     masked ID, name and phone for display
    policy      Deidentifier: applies a contract's deid rules to a validated frame
"""

from desensitize.generalise import AGE_BANDS, age_band, birth_year, community_of_grid
from desensitize.keys import KeyRing
from desensitize.masking import mask_id, mask_name, mask_phone
from desensitize.policy import VAULT_COLUMNS, Deidentifier, DeidResult
from desensitize.pseudonym import Pseudonymiser, hmac_sha256_hex
from desensitize.vault import VaultCipher

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
