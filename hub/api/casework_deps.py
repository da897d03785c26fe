"""The loops' stores for a request (hub.casework), and the paging every list shares."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Query

from hub.api.deps import Services, ServicesDep
from hub.api.responses import MAX_OFFSET
from hub.casework.service import Casework


def casework_of(services: Services) -> Casework:
    return Casework.open(services.engine, services.audit, services.settings.casework)


async def _casework(services: ServicesDep) -> Casework:
    return casework_of(services)


CaseworkDep = Annotated[Casework, Depends(_casework)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Limit = Annotated[int, Query(ge=1, le=500)]
StatusFilter = Annotated[str | None, Query(pattern=r"^[a-z_]{1,16}$")]


def today() -> date:
    return date.today()


def page(items: list[dict[str, Any]], offset: int, limit: int) -> dict[str, Any]:
    return {"total": len(items), "items": items[offset:offset + limit]}
