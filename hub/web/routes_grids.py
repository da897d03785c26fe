"""A grid's residents for the street office: filters, a readable order, pages, XLSX download.

The checks are the API's (hub.api.guard.ResidentGate, action `grid.list` as
GET /v1/grids/{grid}/residents; the download is `grid.download`), and the rows are the
API's own (ViewReader.grid_residents: masked name, age band, groups, flags). They are
ordered oldest age band first, then by the pinyin of the masked name, so a list reads like
the registers the office keeps. An unknown filter value is an error, never an empty list.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from hub.api.guard import ResidentGate
from hub.api.places import place_names
from hub.api.problems import ApiProblem
from hub.security.purposes import PURPOSES
from hub.views.read import MAX_PAGE
from hub.web.render import NO_STORE, page
from hub.web.routes_auth import SignedIn, signed_in, to_login
from hub.web.routes_residents import problem_page
from hub.web.state import console_state
from schemas.value_labels import Language, label, value_labels

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 50
FLAGS = {"": None, "yes": True, "no": False}
AGE_ORDER = ["80+", "70-79", "60-69", "18-59", "14-17", "0-13"]


def _filters(special_group: str, overlap: str, missed: str) -> dict[str, Any] | None:
    if special_group and special_group not in value_labels()["special_groups"]:
        return None
    if overlap not in FLAGS or missed not in FLAGS:
        return None
    return {"special_group": special_group or None, "has_overlap": FLAGS[overlap],
            "has_missed_benefit": FLAGS[missed]}


def _ordered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Imported at first use, as openpyxl below: every API worker imports this module, few
    # ever list a grid, and the two are a visible share of a worker's start-up.
    from pypinyin import lazy_pinyin

    def key(item: dict[str, Any]) -> tuple[int, list[str], str]:
        band = item.get("age_band")
        rank = AGE_ORDER.index(band) if band in AGE_ORDER else len(AGE_ORDER)
        return rank, lazy_pinyin(str(item.get("name") or "").replace("*", "")), \
            str(item["resident_key"])
    return sorted(items, key=key)


def _open(request: Request, who: SignedIn, action: str, grid_code: str, purpose: str,
          filters: dict[str, Any] | None) -> tuple[ResidentGate, list[dict[str, Any]]]:
    """Admit (role, purpose), jurisdiction, filters; all rows of the grid, ordered."""
    services = console_state(request).services
    gate = ResidentGate(request, services, who.user.principal, action)
    gate.admit(purpose or None)
    if not (len(grid_code) == 15 and grid_code.isdigit()) or not gate.grid_in_scope(grid_code):
        gate.refuse(ApiProblem(404, "grid-not-found", "", ""), "refused:forbidden",
                    detail=f"grid {grid_code}" if grid_code.isdigit() else None)
    if filters is None:
        gate.refuse(ApiProblem(400, "filter-invalid", "", ""), "refused:invalid_request",
                    detail="fields: filter")
    items: list[dict[str, Any]] = []
    while True:
        chunk, total = services.views.grid_residents(grid_code, offset=len(items),
                                                     limit=MAX_PAGE, **filters)
        items += chunk
        if not chunk or len(items) >= total:
            return gate, _ordered(items)


@router.get("/grids")
def grid_list(request: Request, grid: Annotated[str, Query(max_length=20)] = "",
              purpose: Annotated[str, Query(max_length=64)] = "",
              special_group: Annotated[str, Query(max_length=64)] = "",
              overlap: Annotated[str, Query(max_length=8)] = "",
              missed: Annotated[str, Query(max_length=8)] = "",
              page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1
              ) -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    form = {"grid": grid, "purpose": purpose, "special_group": special_group,
            "overlap": overlap, "missed": missed}
    context: dict[str, Any] = {"who": who, "purposes": PURPOSES, "form": form,
               "places": place_names(console_state(request).services.settings),
               "groups": list(value_labels()["special_groups"])}
    if not grid:
        return page("console/grid.html", locale=who.user.locale, rows=None, **context)
    try:
        gate, items = _open(request, who, "grid.list", grid, purpose,
                            _filters(special_group, overlap, missed))
    except ApiProblem as problem:
        return problem_page(who, problem)
    start = (page_number - 1) * PAGE
    rows = items[start:start + PAGE]
    gate.record("granted", detail=f"grid {grid}: {len(rows)} of {len(items)} residents")
    pages = max(1, -(-len(items) // PAGE))
    return page("console/grid.html", locale=who.user.locale, rows=rows, total=len(items),
                page_number=page_number, pages=pages, **context)


@router.get("/grids/residents.xlsx")
def grid_download(request: Request, grid: Annotated[str, Query(max_length=20)] = "",
                  purpose: Annotated[str, Query(max_length=64)] = "",
                  special_group: Annotated[str, Query(max_length=64)] = "",
                  overlap: Annotated[str, Query(max_length=8)] = "",
                  missed: Annotated[str, Query(max_length=8)] = "") -> Response:
    who = signed_in(request)
    if who is None:
        return to_login()
    try:
        gate, items = _open(request, who, "grid.download", grid, purpose,
                            _filters(special_group, overlap, missed))
    except ApiProblem as problem:
        return problem_page(who, problem)
    gate.record("granted", detail=f"grid {grid}: xlsx of {len(items)} residents")
    language: Language = "en" if who.user.locale == "en" else "zh"
    return Response(workbook(items, language), headers={
        **NO_STORE, "Content-Disposition": f'attachment; filename="grid-{grid}.xlsx"'},
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


HEADERS = {"zh": ["姓名（已脱敏）", "年龄段", "特殊群体", "重复享受", "可能漏享", "居民编号"],
           "en": ["Name (masked)", "Age band", "Special groups", "Overlap",
                  "Likely missed benefit", "Resident key"]}


def workbook(items: list[dict[str, Any]], language: Language) -> bytes:
    """The list as shown: masked fields, labels, flags; no raw identifier exists to add."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("residents")
    sheet.append(HEADERS[language])
    yes, no = ("是", "否") if language == "zh" else ("yes", "no")
    for item in items:
        sheet.append([item.get("name") or "", item.get("age_band") or "",
                      "、".join(label("special_groups", g, language)
                               for g in item["special_groups"]),
                      yes if item["has_overlap"] else no,
                      yes if item["has_missed_benefit"] else no, item["resident_key"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
