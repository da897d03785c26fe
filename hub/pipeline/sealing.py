"""Rows whose ID number fails its rules, kept sealed as linkage candidates.

A department row that is wrong only in its ID number (a wrong check character, a number Excel
rounded, a number that contradicts the row's sex or birth date, or none at all) still records
assistance that a resident received. Instead of losing it, the batch keeps it apart from the
curated rows: its other columns de-identified exactly like a curated row (no resident key),
its identifiers (ID number, name, phone, address, sex, birth date) encrypted in `vault.sealed`
under the candidate key `batch_id:source_row`. Its row issues stay in the quarantine with
their reasons; the pipeline worker links it to a registry resident later
(hub.pipeline.linkage). The registry's own rows are never candidates: they are what others
are linked to.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from desensitize.deidentify import Deidentifier
from desensitize.pseudonym import Pseudonymiser
from desensitize.vault import VaultCipher
from schemas.compile_arrow import to_curated_arrow
from schemas.spec import ContractSpec

REGISTRY = "grid"
IDENTITY_DOMAIN = "linkage_identity"
# The identifiers a candidate is compared on, when its contract has them.
SEALED_FIELDS = ("resident_id", "name", "gender", "birth_date", "phone", "address")


def candidate_key(batch_id: str, source_row: object) -> str:
    return f"{batch_id}:{int(str(source_row))}"


@dataclass
class SealedRows:
    curated: pa.Table  # curated columns, resident_key NULL
    vault: pd.DataFrame  # candidate_key, field, ciphertext


def identity_keys(pseudonymiser: Pseudonymiser, identifiers: pd.DataFrame) -> pd.Series:
    """The keyed identity of each row's identifiers (its columns: SEALED_FIELDS in that
    order, those the contract has): one text of them all, pseudonymised in its own domain.
    A key rotation makes it again from the sealed values (hub.rotation)."""
    joined = identifiers.astype("string").fillna("").agg("\x1f".join, axis=1)
    return pseudonymiser.pseudonymise(joined, domain=IDENTITY_DOMAIN)


def id_only_rows(contract: ContractSpec, errors: pd.DataFrame) -> pd.Index:
    """Source rows whose every error is on the contract's resident ID column."""
    identity = contract.identity_column
    if identity is None or contract.name == REGISTRY or contract.ledger is None \
            or errors.empty:
        return pd.Index([], dtype="int64")
    on_id = errors["column"].astype(str) == identity.name
    per_row = on_id.groupby(errors["source_row"].to_numpy()).all()
    return pd.Index(per_row.index[per_row.to_numpy()])


class CandidateSealer:
    """De-identifies and seals candidate rows; one per pipeline worker."""

    def __init__(self, deidentifier: Deidentifier, cipher: VaultCipher,
                 pseudonymiser: Pseudonymiser) -> None:
        self._deidentifier = deidentifier
        self._cipher = cipher
        self._pseudonymiser = pseudonymiser

    def seal(self, contract: ContractSpec, frame: pd.DataFrame, batch_id: str,
             grid_scheme: str | None) -> SealedRows:
        """`frame`: the validated rows to seal (index = source row)."""
        keys = pd.Series([candidate_key(batch_id, row) for row in frame.index],
                         index=frame.index, dtype="string")
        identity = contract.identity_column
        # The failed ID stands for no one: the candidate key replaces it (also when it is
        # missing), so the de-identification keys nothing by it; the resident key is emptied.
        stand_in = frame.assign(**{identity.name: keys}) if identity else frame
        curated = self._deidentifier.apply(contract, stand_in).curated
        if "resident_key" in curated.columns:
            curated["resident_key"] = pd.array([None] * len(curated), dtype="string")
        table = to_curated_arrow(contract, curated, batch_id, grid_scheme)
        # A keyed pseudonym of the row's identifiers: the same person's row sent again (a
        # delta repeating it) keeps the decision made for it (hub.pipeline.linkage).
        fields = [f for f in SEALED_FIELDS if f in frame.columns]
        table = table.append_column("identity_key", pa.array(
            identity_keys(self._pseudonymiser, frame[fields]).array, pa.string()))
        parts = []
        for field in SEALED_FIELDS:
            if field not in frame.columns or field not in contract.column_names:
                continue
            sealed = self._cipher.encrypt_column(frame[field], field, keys)
            present = sealed.notna().to_numpy()
            parts.append(pd.DataFrame({"candidate_key": keys[present].array,
                                       "field": field,
                                       "ciphertext": sealed[present].to_numpy(dtype=object)}))
        vault = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["candidate_key", "field", "ciphertext"])
        return SealedRows(curated=table, vault=vault)

    def close(self) -> None:
        self._pseudonymiser.close()
