"""`hub audit fetch-checkpoints`: an auditor's machine copies the hub's signed checkpoints.

The witness folder is append-only from the hub's side: a file name is made here from the
checked fields (never taken from the server), a file already there is never replaced, and
every checkpoint must verify under the public key pinned in `public-key.txt` at the first
fetch (or given with --public-key). A checkpoint that contradicts one already held (same
record count, other head) is kept too, under its own name: it is the evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hub.audit.checkpoint import (
    CHECKPOINT_GLOB,
    FORMAT,
    checkpoint_name,
    read_checkpoint,
    signature_valid,
)
from hub.audit.errors import AuditError, WitnessFetchFailed
from hub.audit.witness import PUBLIC_KEY_FILE, read_public_key, witness_document

TOKEN_ENV = "HUB_TOKEN"
PAGE = 1000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


@dataclass(frozen=True)
class Fetched:
    new: int
    total: int
    newest_seq: int


def _well_formed(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("format") == FORMAT
            and isinstance(doc.get("seq"), int) and doc["seq"] >= 0
            and isinstance(doc.get("hash"), str) and bool(_HEX64.fullmatch(doc["hash"]))
            and isinstance(doc.get("at"), str) and bool(_AT.fullmatch(doc["at"]))
            and isinstance(doc.get("signature"), str))


def _newest_at(folder: Path) -> str | None:
    newest = None
    for path in folder.glob(CHECKPOINT_GLOB):
        try:
            at = read_checkpoint(path)["at"]
        except AuditError:
            continue
        newest = at if newest is None or at > newest else newest
    return newest


def _page(client: httpx.Client, since: str | None) -> list[Any]:
    params: dict[str, Any] = {"limit": PAGE}
    if since is not None:
        params["since"] = since
    try:
        response = client.get("/v1/audit/checkpoints", params=params)
    except httpx.HTTPError as exc:
        raise WitnessFetchFailed(f"the hub did not answer ({exc.__class__.__name__})") from None
    if response.status_code in (401, 403):
        raise WitnessFetchFailed(f"the hub refused the token ({response.status_code}); an "
                                 "auditor or administrator token is needed")
    if response.status_code != 200:
        raise WitnessFetchFailed(f"the hub answered {response.status_code}")
    try:
        docs = response.json()["checkpoints"]
    except (ValueError, KeyError, TypeError):
        raise WitnessFetchFailed("the answer is not a checkpoint list") from None
    return docs if isinstance(docs, list) else []


def fetch_checkpoints(url: str, token: str, folder: Path, public_key: str | None = None,
                      transport: httpx.BaseTransport | None = None) -> Fetched:
    folder.mkdir(parents=True, exist_ok=True)
    pinned = read_public_key(folder)
    if public_key and pinned and public_key.strip() != pinned:
        raise WitnessFetchFailed(f"--public-key differs from the key pinned in "
                                 f"{folder / PUBLIC_KEY_FILE}")
    key = pinned or (public_key.strip() if public_key else None)
    since = _newest_at(folder)
    new, newest = 0, 0
    seen: set[tuple[Any, Any, Any]] = set()
    with httpx.Client(base_url=url.rstrip("/"), transport=transport, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        while True:
            docs = _page(client, since)
            for doc in docs:
                if not _well_formed(doc):
                    raise WitnessFetchFailed("the hub sent a malformed checkpoint")
                if key is None:  # trust on first use, pinned from now on
                    key = str(doc.get("public_key") or "")
                if not signature_valid(doc, key):
                    raise WitnessFetchFailed(
                        f"checkpoint of record {doc['seq']} does not verify under the pinned "
                        "public key: the hub's key changed or the checkpoint is forged")
                new += _keep(folder, doc)
                newest = max(newest, int(doc["seq"]))
            identity = {(d["seq"], d["at"], d["signature"]) for d in docs}
            if len(docs) < PAGE or identity <= seen:
                break
            seen |= identity
            since = max(str(d["at"]) for d in docs)
    if key and not pinned:
        (folder / PUBLIC_KEY_FILE).write_text(key + "\n", encoding="ascii")
    total = len(list(folder.glob(CHECKPOINT_GLOB)))
    return Fetched(new, total, newest)


def _keep(folder: Path, doc: dict[str, Any]) -> int:
    """Write one checkpoint unless an identical one is there; 1 if written."""
    text = witness_document(doc)
    name = checkpoint_name(int(doc["seq"]), str(doc["at"]))
    path = folder / name
    for n in range(100):
        if not path.exists():
            path.write_text(text, encoding="utf-8")
            return 1
        if path.read_text(encoding="utf-8") == text:
            return 0
        path = folder / name.replace(".json", f"-{n + 1}.json")
    raise WitnessFetchFailed(f"too many different checkpoints named {name}")
