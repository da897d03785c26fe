"""The optional labels block of the resident, household and grid answers: asked for with
`?labels=` or by Accept-Language, it names every coded value of the answer in Chinese (or
English) with the labels the console uses; without either the answer has no block."""

from __future__ import annotations

from typing import Any

from schemas.value_labels import label
from tests.api.conftest import District, Server

PURPOSE = {"purpose": "assistance_review"}


def _codes(document: dict[str, Any]) -> dict[str, set[str]]:
    facts = [f for d in document["departments"] for f in d["facts"]]
    return {"departments": {d["department"] for d in document["departments"]},
            "programs": {f["program"] for f in facts}, "kinds": {f["kind"] for f in facts},
            "genders": {document["profile"]["gender"]},
            "findings": {o["rule_id"] for o in document["overlaps"] + document["missed_benefits"]}}


def test_labels_name_every_coded_value_in_the_language_asked(server: Server,
                                                             district: District) -> None:
    api = server.client(district.tokens["street_office"])
    path = f"/v1/residents/{district.mine.key}"
    plain = api.get(path, params=PURPOSE).json()
    chinese = api.get(path, params={**PURPOSE, "labels": "zh-CN"}).json()
    english = api.get(path, params=PURPOSE, headers={"Accept-Language": "en-GB,en;q=0.8"}).json()
    searched = api.post("/v1/residents/search", params={"labels": "zh-CN"}, json={
        "id_number": district.mine.raw_id, **PURPOSE}).json()
    household = api.get(f"/v1/households/{district.mine.household_key}", params=PURPOSE,
                        headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json()
    grid = api.get(f"/v1/grids/{district.mine.grid_code}/residents",
                   params={**PURPOSE, "labels": "zh", "limit": 500}).json()
    refused = api.get(path, params={**PURPOSE, "labels": "fr"})

    assert "labels" not in plain
    assert {k: v for k, v in chinese.items() if k != "labels"} == plain  # only added to
    assert chinese["labels"]["language"] == "zh-CN"
    assert english["labels"]["language"] == "en"
    assert searched["labels"] == chinese["labels"]
    for group, found in _codes(plain).items():
        codes = {c for c in found if c}
        if group in ("departments", "programs", "kinds"):
            assert codes, group  # the resident has facts of several departments
        if not codes:
            assert group not in chinese["labels"], group
            continue
        assert chinese["labels"][group] == {c: label(group, c) for c in codes}, group
        assert english["labels"][group] == {c: label(group, c, "en") for c in codes}, group
    assert chinese["labels"]["departments"]  # e.g. 民政局: Chinese, not the code
    assert all(name != code for code, name in chinese["labels"]["departments"].items())
    relations = {m["relation_to_head"] for m in household["members"]}
    assert household["labels"]["relations"] == {r: label("relations", r) for r in relations}
    groups = {g for item in grid["items"] for g in item["special_groups"]}
    assert grid["labels"].get("special_groups", {}) == {
        g: label("special_groups", g) for g in groups}
    assert refused.status_code == 422
    # Codes of places by name, from the home's place table (the demo's names its cells).
    grid_code = plain["location"]["grid_code"]
    assert chinese["labels"]["places"][grid_code].endswith("网格")
    assert plain["location"]["community_code"] in chinese["labels"]["places"]
    assert grid["labels"]["places"][grid_code] == chinese["labels"]["places"][grid_code]
