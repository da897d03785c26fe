"""Households: members (masked) and household totals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from hub.api import examples
from hub.api.deps import OptionalPrincipal, Purpose, ServicesDep
from hub.api.guard import ResidentGate
from hub.api.labels import LabelsParam, requested_language, with_labels
from hub.api.places import place_names
from hub.api.problems import not_found

router = APIRouter(prefix="/v1/households", tags=["households"])

HouseholdKey = Annotated[str, Path(description="the household's pseudonym",
                                   pattern=r"^[0-9a-f]{32}$",
                                   examples=[examples.HOUSEHOLD_KEY])]


@router.get("/{household_key}", summary="Read a household",
            responses={200: examples.json_example(examples.HOUSEHOLD, "the household view"),
                       **examples.RESIDENT_ERRORS})
def get_household(request: Request, services: ServicesDep, principal: OptionalPrincipal,
                  household_key: HouseholdKey, purpose: Purpose = None,
                  labels: LabelsParam = None) -> dict[str, Any]:
    gate = ResidentGate(request, services, principal, "household.read")
    gate.admit(purpose)
    document = services.views.household(household_key)
    street = document.get("street_code") if document else None
    if document is None:
        gate.refuse(not_found("household"), "not_found", detail="unknown household")
    if not gate.in_scope(street):
        gate.refuse(not_found("household"), "refused:forbidden",
                    detail=f"household {household_key}")
    view = gate.visible(document)
    gate.record("granted", detail=f"household {household_key}")
    return with_labels(view, requested_language(request, labels),
                       place_names(services.settings))
