"""The caller's inbox (`/v1/inbox`): every item that waits for them, soonest due first, with
its clock; overdue items are escalated to the admin on the way (hub.casework.inbox)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hub.api.casework_deps import CaseworkDep, Limit, Offset, page, today
from hub.api.deps import CurrentPrincipal
from hub.casework.inbox import escalate_overdue, inbox

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])


@router.get("", summary="What waits for the caller")
def my_inbox(work: CaseworkDep, principal: CurrentPrincipal, offset: Offset = 0,
             limit: Limit = 100) -> dict[str, Any]:
    escalate_overdue(work, today())
    return page(inbox(work, principal, today()), offset, limit)
