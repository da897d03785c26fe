"""Publishing checkpoints often, so that auditors' copies leave little of the tail unwitnessed.

`hub serve` runs one publisher thread: whenever the log has grown by
HUB_AUDIT_CHECKPOINT_RECORDS records, or has grown at all and HUB_AUDIT_CHECKPOINT_SECONDS
have passed since the last checkpoint, it signs the head into `HUB_HOME/audit/`, where
`GET /v1/audit/checkpoints` lists them for `hub audit fetch-checkpoints`. The public key is
written beside them (`public-key.txt`) for verifiers that do not hold the signing key.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.audit.checkpoint import (
    CHECKPOINT_GLOB,
    checkpoint_name,
    public_key_hex,
    read_checkpoint,
    write_checkpoint,
)
from hub.audit.errors import AuditError
from hub.audit.log import AuditLog
from hub.audit.witness import PUBLIC_KEY_FILE

log = logging.getLogger("hub.audit")

POLL_SECONDS = 1.0


def publish_public_key(folder: Path, key: Ed25519PrivateKey) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PUBLIC_KEY_FILE
    text = public_key_hex(key.public_key()) + "\n"
    if not path.exists() or path.read_text(encoding="ascii") != text:
        path.write_text(text, encoding="ascii")


def list_checkpoints(folder: Path, since: str | None = None, limit: int = 1000
                     ) -> list[dict[str, Any]]:
    """Checkpoint documents of `folder`, oldest signature first, from `since` (inclusive)."""
    docs = []
    for path in Path(folder).glob(CHECKPOINT_GLOB):
        try:
            doc = read_checkpoint(path)
        except AuditError:
            continue  # a damaged local file: `hub audit verify` names it, the API skips it
        if since is None or doc["at"] >= since:
            docs.append(doc)
    docs.sort(key=lambda d: (d["at"], d["seq"]))
    return docs[:limit]


class CheckpointPublisher:
    """Signs the head every `every_records` records, or after `every_seconds` if it moved."""

    def __init__(self, audit: AuditLog, key: Ed25519PrivateKey, folder: Path,
                 every_records: int, every_seconds: float) -> None:
        self.audit = audit
        self.key = key
        self.folder = folder
        self.every_records = every_records
        self.every_seconds = every_seconds
        self._last_seq = self._newest_seq()
        self._last_time = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _newest_seq(self) -> int:
        newest = list_checkpoints(self.folder, limit=10**9)
        return max((int(d["seq"]) for d in newest), default=0)

    def publish_if_due(self) -> dict[str, Any] | None:
        seq, _ = self.audit.head()
        grown = seq - self._last_seq
        waited = time.monotonic() - self._last_time
        if grown <= 0 or (grown < self.every_records and waited < self.every_seconds):
            return None
        return self.publish()

    def publish(self) -> dict[str, Any]:
        publish_public_key(self.folder, self.key)
        tmp = self.folder / ".checkpoint.next.json"
        doc = write_checkpoint(self.audit, self.key, tmp)
        tmp.replace(self.folder / checkpoint_name(int(doc["seq"]), str(doc["at"])))
        self._last_seq, self._last_time = int(doc["seq"]), time.monotonic()
        return doc

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.publish_if_due()
            except Exception as exc:  # keep publishing; the class only (no values)
                log.error("audit checkpoint not written: %s", exc.__class__.__name__)

    def start(self) -> None:
        publish_public_key(self.folder, self.key)
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

