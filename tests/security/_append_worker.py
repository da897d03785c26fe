"""Child process of the concurrency test: appends records through its own engine."""

from __future__ import annotations

from catalog.db import create_state_engine
from hub.audit.log import AuditLog


def append_many(url: str, worker: int, count: int) -> list[int]:
    """`count` appends, one at a time, then one batch of three (`append_many`)."""
    engine = create_state_engine(url)
    log = AuditLog(engine)
    seqs = [log.append(action="resident.get", outcome="returned", actor=f"w{worker}:worker",
                       role="admin", purpose="audit_check", resident_key=f"w{worker}-{i}")
            for i in range(count)]
    seqs += log.append_many([{"action": "resident.search", "outcome": "returned",
                              "actor": f"w{worker}:worker", "role": "admin",
                              "resident_key": f"w{worker}-batch-{i}"} for i in range(3)])
    log.close()
    engine.dispose()
    return seqs
