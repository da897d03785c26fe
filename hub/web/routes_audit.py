"""The audit log for auditors: filtered and paged, and its verification status.

The filters are choices, not free text: the actors, actions and outcomes the log holds, and
a period of whole days. A value that is not one of them is an error page, never an empty
list that would read as "nobody did this". Verification recomputes the hash chain, checks
the newest signed checkpoint on this machine and, when HUB_AUDIT_WITNESS_DIR is set, the
witness folder of copies kept elsewhere.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from hub.audit.checkpoint import CHECKPOINT_GLOB, read_checkpoint, verify_checkpoint
from hub.audit.errors import CheckpointInvalid
from hub.audit.log import AuditLog
from hub.audit.verify import VerifyResult
from hub.audit.witness import read_public_key, verify_witness
from hub.security.access import can_read_audit
from hub.web.render import page
from hub.web.routes_auth import SignedIn, signed_in, to_login
from hub.web.state import console_state

router = APIRouter(prefix="/console/audit", include_in_schema=False)
PAGE = 50
OUTCOME_GROUPS = ("granted", "refused")  # "refused": every refusal (AuditLog.search)
Filter = Annotated[str, Query(max_length=200)]
CHOICES_SECONDS = 30.0
_lock = threading.Lock()
_cached: dict[str, tuple[float, dict[str, list[str]]]] = {}  # per state store


def refused(who: SignedIn, problem: str, status: int) -> Response:
    return page("console/error.html", locale=who.user.locale, status=status, who=who,
                problem=problem)


def _choices(log: AuditLog, fresh: bool = False) -> dict[str, list[str]]:
    """The values each filter may take, read at most every CHOICES_SECONDS (the action and
    outcome columns have no index: on a long log reading them is a scan)."""
    store = repr(log)  # names the state store, without a password
    with _lock:
        hit = _cached.get(store)
        if not fresh and hit is not None and time.monotonic() - hit[0] < CHOICES_SECONDS:
            return hit[1]
    found = {"actor": log.distinct("actor"), "action": log.distinct("action"),
             "outcome": sorted({*OUTCOME_GROUPS, *log.distinct("outcome")})}
    with _lock:
        _cached[store] = (time.monotonic(), found)
    return found


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@router.get("")
def audit_log(request: Request, actor: Filter = "", action: Filter = "", outcome: Filter = "",
              since: Annotated[str, Query(max_length=10)] = "",
              until: Annotated[str, Query(max_length=10)] = "",
              page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1
              ) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    if not can_read_audit(who.user.principal):
        return refused(who, "forbidden-audit", 403)
    log = console_state(request).services.audit
    form = {"actor": actor, "action": action, "outcome": outcome, "since": since,
            "until": until}

    def unknown_in(found: dict[str, list[str]]) -> list[str]:
        return [k for k in ("actor", "action", "outcome") if form[k] and
                form[k] not in found[k]]

    choices = _choices(log)
    if unknown_in(choices):  # perhaps new since the choices were read: read them again
        choices = _choices(log, fresh=True)
    unknown = unknown_in(choices)
    first, last = _day(since) if since else None, _day(until) if until else None
    if unknown or (since and first is None) or (until and last is None) or \
            (first and last and first > last):
        return refused(who, "filter-invalid", 400)
    events = log.search(actor=actor or None, action=action or None, outcome=outcome or None,
                        since=f"{first.isoformat()}T00:00:00Z" if first else None,
                        until=f"{(last + timedelta(days=1)).isoformat()}T00:00:00Z"
                        if last else None, offset=(page_number - 1) * PAGE, limit=PAGE + 1)
    return page("console/audit_log.html", locale=who.user.locale, who=who, form=form,
                choices=choices, events=events[:PAGE], more=len(events) > PAGE,
                page_number=page_number, current_path="/console/audit")


def _checkpoints(request: Request) -> dict[str, Any]:
    """The newest checkpoint on this machine, checked against the log and the published
    public key: how many there are, which record it vouches for, whether it holds."""
    services = console_state(request).services
    folder = services.settings.audit_dir
    files = sorted(folder.glob(CHECKPOINT_GLOB)) if folder.is_dir() else []
    key = read_public_key(folder)
    if not files or key is None:
        return {"count": len(files), "newest": None, "result": None}
    newest = files[-1]
    try:
        doc = read_checkpoint(newest)
    except CheckpointInvalid as exc:
        return {"count": len(files), "newest": None, "result": VerifyResult(
            False, 0, None, f"checkpoint {newest.name} {exc.problem}")}
    return {"count": len(files), "newest": {"seq": doc["seq"], "at": doc["at"]},
            "result": verify_checkpoint(services.audit, key, newest)}


@router.get("/verification")
def verification(request: Request) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    if not can_read_audit(who.user.principal):
        return refused(who, "forbidden-audit", 403)
    services = console_state(request).services
    chain = services.audit.verify()
    witness_dir = services.settings.audit.witness_dir
    witness = None
    if witness_dir is not None:
        key = read_public_key(witness_dir) or read_public_key(services.settings.audit_dir)
        witness = verify_witness(services.audit, witness_dir, key) if key else None
    head, _hash = services.audit.head()
    return page("console/audit_verify.html", locale=who.user.locale, who=who, chain=chain,
                checkpoints=_checkpoints(request), witness=witness,
                witness_configured=witness_dir is not None, head=head,
                current_path="/console/audit/verification")
