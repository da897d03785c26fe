"""A pseudonym key rotation carries the keyed identity of the rows kept for linkage: the same
rows sent again after the rotation keep the decisions made for them before it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from desensitize.pseudonym import Pseudonymiser
from desensitize.vault import VaultCipher
from hub.pipeline.sealing import SEALED_FIELDS, identity_keys
from hub.pipeline.worker import PipelineWorker
from hub.rotation import run
from hub.settings import HubSettings
from schemas.registry import get_contract
from tests.rotation.conftest import District
from tests.rotation.rotation_kit import query, read_key

_SEALED = 'quarantine."sealed_elderly_care"'


def _identities(home: HubSettings) -> dict[str, str]:
    return {f"{b}:{r}": k for b, r, k in query(
        home, f"SELECT batch_id, source_row, identity_key FROM {_SEALED}")}


def _made_again(home: HubSettings, key: bytes) -> dict[str, str]:
    """Each sealed row's identity made from its sealed identifiers under `key`."""
    cipher = VaultCipher(read_key(home, "vault.key"))
    rows = pd.DataFrame(query(home, "SELECT candidate_key, field, ciphertext FROM vault.sealed "
                                    "WHERE candidate_key LIKE 'elderly_care-%'"),
                        columns=["candidate_key", "field", "ciphertext"])
    opened = {}
    for field, part in rows.groupby("field"):
        keys = part["candidate_key"].astype("string")
        values = cipher.decrypt_column(part["ciphertext"], str(field), keys)
        opened[str(field)] = pd.Series(values.array, index=keys.array)
    columns = get_contract("elderly_care").column_names
    fields = [f for f in SEALED_FIELDS if f in columns]
    wide = pd.DataFrame(opened).reindex(columns=fields)
    with Pseudonymiser(key) as p:
        made = identity_keys(p, wide.astype("string"))
    return dict(zip(wide.index, made, strict=True))


def test_rows_sent_again_after_a_pseudonym_rotation_keep_their_decisions(
        home: HubSettings, district: District) -> None:
    before = _identities(home)
    assert len(before) >= 5
    assert query(home, "SELECT count(*) FROM linkage.decisions WHERE dataset = "
                       "'elderly_care'")[0][0] == len(before)
    # A row under review gets its own item when sent again; every other keeps its decision.
    kept = query(home, "SELECT count(*) FROM linkage.decisions WHERE dataset = "
                       "'elderly_care' AND decision <> 'review'")[0][0]
    # Every sealed row of every dataset: made again under the old key, each matched its own.
    sealed = query(home, "SELECT count(*) FROM linkage.decisions")[0][0]

    summary = run.rotate(home, "pseudonym", chunk_residents=300)

    assert summary.state == "done"
    assert summary.counters["sealed identities"] == sealed
    after = _identities(home)
    assert set(after) == set(before)
    assert not set(after.values()) & set(before.values())  # every identity re-keyed
    assert after == _made_again(home, read_key(home, "pseudonym.key"))

    elderly = district.demo.datasets["elderly_care"]
    lines = Path(elderly.path).read_bytes().splitlines(keepends=True)
    again = home.home.parent / "elderly_care_again.csv"
    again.write_bytes(lines[0] + b"".join(reversed(lines[1:])))  # the same rows, reordered
    with PipelineWorker(home) as worker:
        result = worker.ingest(Path(elderly.source_yaml), again)
        assert result.outcome == "loaded"
        linked = worker.publish(today=district.demo.today)["linkage"]
    # Every sealed row of the new batch is the same person's row as before.
    assert linked["reused"] == kept > 10
    assert linked["candidates"] == len(before) - kept
