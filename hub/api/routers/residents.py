"""Residents: look up by ID number (in the body, never the URL) or by resident key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from hub.api import examples
from hub.api.deps import OptionalPrincipal, Purpose, Services, ServicesDep
from hub.api.guard import ResidentGate
from hub.api.problems import not_found
from hub.views.read import resident_key_for_id_number

router = APIRouter(prefix="/v1/residents", tags=["residents"])

ResidentKey = Annotated[str, Path(description="the resident's pseudonym (from a search or a "
                                              "grid listing)", pattern=r"^[0-9a-f]{32}$",
                                  examples=[examples.RESIDENT_KEY])]


class ResidentSearch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"id_number": "11010519410203123X", "purpose": "assistance_review"}]})

    id_number: str = Field(min_length=1, max_length=40,
                           description="resident ID number as written (18 or 15 characters)")
    purpose: str | None = Field(default=None, max_length=64,
                                description="why the data is needed (fixed list); required")


def _answer(gate: ResidentGate, services: Services, key: str | None,
            refused_detail: str | None = None) -> dict[str, Any]:
    document = services.views.resident(key) if key else None
    if document is None:
        # The key is not recorded: an unknown "key" is caller input and could be anything.
        gate.refuse(not_found("resident"), "not_found", detail=refused_detail)
    street = (document.get("location") or {}).get("street_code")
    if not gate.in_scope(street):
        gate.refuse(not_found("resident"), "refused:forbidden", key)
    view = gate.visible(document)
    gate.record("granted", key)
    return view


@router.post("/search", summary="Find a resident by ID number",
             responses={200: examples.json_example(examples.RESIDENT, "the resident view"),
                        **examples.RESIDENT_ERRORS})
def search_resident(request: Request, services: ServicesDep, principal: OptionalPrincipal,
                    body: Annotated[ResidentSearch, Body()]) -> dict[str, Any]:
    """The resident view (masked profile, every department's facts, totals, overlaps, missed
    benefits). A resident outside your jurisdiction answers exactly like an unknown one."""
    gate = ResidentGate(request, services, principal, "resident.search")
    gate.admit(body.purpose)
    key = resident_key_for_id_number(body.id_number, services.pseudonymiser())
    return _answer(gate, services, key, None if key else "not a valid ID number")


@router.get("/{resident_key}", summary="Read a resident by key",
            responses={200: examples.json_example(examples.RESIDENT, "the resident view"),
                       **examples.RESIDENT_ERRORS})
def get_resident(request: Request, services: ServicesDep, principal: OptionalPrincipal,
                 resident_key: ResidentKey, purpose: Purpose = None) -> dict[str, Any]:
    gate = ResidentGate(request, services, principal, "resident.read")
    gate.admit(purpose)
    return _answer(gate, services, resident_key)
