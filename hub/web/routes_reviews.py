"""The linkage review queue in the console, for a department's data steward (and admins).

The same queue and rules as GET/POST /v1/linkage/reviews (hub.pipeline.reviews): the
steward sees the items of their own datasets only, each with the department's row and the
registry resident side by side, masked, and the comparison level that decided each field;
accepting or rejecting is one audit record, as through the API. Another department's item
answers like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from hub.api.problems import ApiProblem
from hub.pipeline.reviews import ReviewAlreadyDecided, ReviewQueue
from hub.security.roles import Role
from hub.web.render import page
from hub.web.routes_auth import SignedIn, csrf_ok, signed_in, to_login
from hub.web.routes_residents import problem_page
from hub.web.state import console_state

router = APIRouter(prefix="/console", include_in_schema=False)
ReviewId = Annotated[str, Path(pattern=r"^rv-[0-9a-f]{24}$")]
FIELDS = ("name", "birth", "sex", "place", "phone", "address")


def _datasets(who: SignedIn) -> tuple[str, ...] | None:
    principal = who.user.principal
    if principal.role == Role.ADMIN:
        return None
    if principal.role == Role.DEPARTMENT:
        return principal.scope
    raise ApiProblem(403, "forbidden", "", "")


def _item(request: Request, who: SignedIn, review_id: str) -> dict[str, Any]:
    datasets = _datasets(who)
    item = ReviewQueue(console_state(request).services.engine).get(review_id)
    if item is None or (datasets is not None and item["dataset"] not in datasets):
        raise ApiProblem(404, "not-found", "", "")
    return item


def _rows(item: dict[str, Any]) -> list[dict[str, Any]]:
    by_field = {c["field"]: c for c in item["comparison"]}
    return [by_field[f] for f in FIELDS if f in by_field]


@router.get("/reviews")
def review_list(request: Request) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    try:
        items, total = ReviewQueue(console_state(request).services.engine).list(
            _datasets(who), limit=200)
    except ApiProblem as problem:
        return problem_page(who, problem)
    return page("console/reviews.html", locale=who.user.locale, who=who, items=items,
                total=total, item=None, rows=[])


@router.get("/reviews/{review_id}")
def review_show(request: Request, review_id: ReviewId) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    try:
        item = _item(request, who, review_id)
    except ApiProblem as problem:
        return problem_page(who, problem)
    return page("console/reviews.html", locale=who.user.locale, who=who, items=[], total=0,
                item=item, rows=_rows(item))


@router.post("/reviews/{review_id}/{verdict}")
def review_decide(request: Request, review_id: ReviewId,
                  verdict: Annotated[str, Path(pattern="^(accept|reject)$")],
                  csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    if not csrf_ok(request, who, csrf):
        return problem_page(who, ApiProblem(403, "bad-form", "", ""))
    try:
        item = _item(request, who, review_id)
        services = console_state(request).services
        decided = ReviewQueue(services.engine).decide(review_id, verdict == "accept",
                                                      who.user.principal.actor)
    except ApiProblem as problem:
        return problem_page(who, problem)
    except ReviewAlreadyDecided:
        return problem_page(who, ApiProblem(409, "review-decided", "", ""))
    services.audit.append(action="linkage.review", outcome=decided["status"],
                          principal=who.user.principal, resident_key=item["resident_key"],
                          detail={"review_id": review_id, "dataset": item["dataset"],
                                  "batch_id": item["batch_id"],
                                  "source_row": item["source_row"], "via": "console"})
    return RedirectResponse(f"/console/reviews/{review_id}", status_code=303)
