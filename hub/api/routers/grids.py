"""Grid listings: the residents of one standard grid cell, filtered and paged."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from hub.api import examples
from hub.api.deps import OptionalPrincipal, Purpose, ServicesDep
from hub.api.guard import ResidentGate
from hub.api.labels import LabelsParam, requested_language, with_labels
from hub.api.places import place_names
from hub.api.problems import ApiProblem
from hub.views.read import MAX_PAGE

router = APIRouter(prefix="/v1/grids", tags=["grids"])

GridCode = Annotated[str, Path(description="standard 15-digit grid code",
                               pattern=r"^[0-9]{15}$", examples=["110105001001001"])]


def _grid_not_found() -> ApiProblem:
    return ApiProblem(404, "not-found", "Not found",
                      "no grid with this code in your jurisdiction")


@router.get("/{grid_code}/residents", summary="List a grid cell's residents",
            responses={200: examples.json_example(examples.GRID_PAGE, "one page"),
                       **examples.RESIDENT_ERRORS})
def grid_residents(
    request: Request, services: ServicesDep, principal: OptionalPrincipal,
    grid_code: GridCode, purpose: Purpose = None,
    special_group: Annotated[str | None, Query(pattern=r"^[a-z_]{1,48}$",
                                               examples=["elderly_living_alone"])] = None,
    has_overlap: bool | None = None,
    has_missed_benefit: bool | None = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    labels: LabelsParam = None,
) -> dict[str, Any]:
    """Masked names, age bands, special groups and flags, ordered by resident key. A grid
    outside your jurisdiction answers exactly like an unknown one."""
    gate = ResidentGate(request, services, principal, "grid.list")
    gate.admit(purpose)
    if not gate.grid_in_scope(grid_code):
        gate.refuse(_grid_not_found(), "refused:forbidden", detail=f"grid {grid_code}")
    items, total = services.views.grid_residents(
        grid_code, special_group=special_group, has_overlap=has_overlap,
        has_missed_benefit=has_missed_benefit, offset=offset, limit=limit)
    gate.record("granted", detail=f"grid {grid_code}: {len(items)} of {total} residents")
    page = {"grid_code": grid_code, "total": total, "offset": offset, "limit": limit,
            "items": items}
    return with_labels(page, requested_language(request, labels),
                       place_names(services.settings))
