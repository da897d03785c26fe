"""Access rules: deny by default, no access outside scope, purposes, field visibility."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.security.access import (
    PURPOSES,
    can_read_audit,
    can_read_batch,
    can_read_grid,
    can_read_quality,
    can_read_resident,
    can_reveal,
    can_upload,
    check_purpose,
    visible_view,
)
from hub.security.errors import PurposeInvalid, PurposeRequired
from hub.security.roles import Principal, Role
from hub.security.tokens import TokenStore

STREETS = ["110105001", "110105002", "110106001", "310101003"]
DATASETS = ["elderly_care", "medical", "employment", "grid"]

# Things a scope or a request might carry: real codes, near misses and junk.
street_like = st.one_of(
    st.sampled_from(STREETS),
    st.sampled_from(["11010500", "1101050011", "110105001 ", "*", "", "１１０１０５００１"]),
    st.text(alphabet="0123456789", min_size=8, max_size=10),
)
scope_items = st.one_of(street_like, st.sampled_from(DATASETS), st.text(max_size=12))
principals = st.builds(
    Principal, token_id=st.just("t"), name=st.just("n"), role=st.sampled_from(list(Role)),
    scope=st.lists(scope_items, max_size=4).map(tuple))
grid_like = st.one_of(
    st.tuples(st.sampled_from(STREETS), st.text(alphabet="0123456789", min_size=6,
                                                max_size=6)).map("".join),
    st.text(alphabet="0123456789", min_size=12, max_size=16),
    st.text(max_size=16),
)


# An independent oracle written from the design, not from the implementation.
def may_see_resident(p: Principal, street: Any) -> bool:
    if p.role == "admin":
        return True
    if p.role != "street_office" or not isinstance(street, str):
        return False
    return street in p.scope and len(street) == 9 and all(c in "0123456789" for c in street)


def may_see_grid(p: Principal, grid: Any) -> bool:
    if not (isinstance(grid, str) and len(grid) == 15
            and all(c in "0123456789" for c in grid)):
        return False
    return p.role == "admin" or (p.role == "street_office" and grid[:9] in p.scope)


@settings(max_examples=400, deadline=None)
@given(p=principals, street=st.one_of(st.none(), street_like), grid=grid_like,
       dataset=st.one_of(st.none(), st.sampled_from(DATASETS), st.text(max_size=8)),
       street_reveal=st.booleans())
def test_no_access_outside_scope(p: Principal, street: str | None, grid: str,
                                 dataset: str | None, street_reveal: bool) -> None:
    assert can_read_resident(p, street) == may_see_resident(p, street)
    assert can_read_grid(p, grid) == may_see_grid(p, grid)
    dept_own = p.role == "department" and dataset is not None and dataset in p.scope
    assert can_upload(p, dataset) == (p.role == "admin" or dept_own)
    assert can_read_batch(p, dataset) == (p.role in ("admin", "auditor") or dept_own)
    assert can_read_quality(p, dataset) == (p.role in ("admin", "auditor") or dept_own)
    assert can_read_audit(p) == (p.role in ("admin", "auditor"))
    reveal = p.role == "admin" or (street_reveal and p.role == "street_office"
                                   and may_see_resident(p, street))
    assert can_reveal(p, street, street_reveal) == reveal


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # one token each
@given(own=st.lists(st.sampled_from(STREETS), min_size=1, max_size=3, unique=True),
       resident_street=st.sampled_from(STREETS))
def test_issued_tokens_grant_exactly_their_streets(tokens: TokenStore, own: list[str],
                                                   resident_street: str) -> None:
    _, token = tokens.create(Role.STREET_OFFICE, own, "office")
    principal = tokens.authenticate(token)
    assert principal is not None
    assert can_read_resident(principal, resident_street) == (resident_street in own)
    assert not can_read_audit(principal)
    assert not can_upload(principal, "grid")


def test_auditor_and_department_never_read_residents() -> None:
    for role, scope in ((Role.AUDITOR, ("*",)), (Role.DEPARTMENT, tuple(DATASETS))):
        p = Principal("t", "n", role, scope + tuple(STREETS))
        assert not any(can_read_resident(p, s) for s in [*STREETS, None])
        assert not can_read_grid(p, STREETS[0] + "001001")


@pytest.mark.parametrize("purpose", PURPOSES)
def test_listed_purposes_pass(purpose: str) -> None:
    assert check_purpose(f" {purpose} ") == purpose


@pytest.mark.parametrize("purpose", [None, "", "   "])
def test_missing_purpose_is_refused(purpose: str | None) -> None:
    with pytest.raises(PurposeRequired):
        check_purpose(purpose)


@pytest.mark.parametrize("purpose", ["curiosity", "Emergency", "110105198001011234"])
def test_unknown_purpose_is_refused_without_echo(purpose: str) -> None:
    with pytest.raises(PurposeInvalid) as info:
        check_purpose(purpose)
    assert purpose not in str(info.value)
    assert "assistance_review" in str(info.value)


def _view() -> dict[str, Any]:
    fact = {"dataset": "medical", "department": "medical_security",
            "program": "medical_assistance", "kind": "cash", "amount": "120.00",
            "period_start": "2024-01-01", "as_of": "2024-02-01", "diagnosis_code": "E11.9"}
    return {
        "resident_key": "rk1",
        "profile": {"id_number": "110105********123X", "name": "张*"},
        "departments": [
            {"dataset": "medical", "attributes": {"chronic_condition": True,
                                                  "family_doctor_contract": False},
             "facts": [fact]},
            {"dataset": "elderly_care", "attributes": {"living_alone": True},
             "facts": [{"dataset": "elderly_care", "program": "meal_aid", "kind": "service"}]},
        ],
        "facts": [fact],
        "overlaps": [{"rule_id": "r1", "pairs": [[fact, fact]]}],
        "restricted": {"medical": {"diagnosis_code": ["E11.9"]}},
    }


def test_street_office_sees_chronic_condition_never_diagnosis() -> None:
    view = _view()
    p = Principal("t", "n", Role.STREET_OFFICE, ("110105001",))
    shown = visible_view(p, view)
    assert "E11.9" not in repr(shown)
    assert "restricted" not in shown
    medical = shown["departments"][0]
    assert medical["attributes"] == {"chronic_condition": "yes"}
    assert medical["facts"][0]["amount"] == "120.00"  # assistance paid still counts
    assert shown["departments"][1]["attributes"] == {"living_alone": True}
    assert shown["profile"] == view["profile"]
    assert view == _view()  # the published document is not modified


def test_chronic_condition_no_and_tolerant_of_missing_parts() -> None:
    p = Principal("t", "n", Role.STREET_OFFICE, ("110105001",))
    shown = visible_view(p, {"departments": [{"dataset": "medical", "attributes": None}]})
    assert shown["departments"][0]["attributes"] == {"chronic_condition": "no"}
    assert visible_view(p, {"profile": {}}) == {"profile": {}}


def test_admin_sees_restricted_fields() -> None:
    p = Principal("t", "n", Role.ADMIN, ())
    assert visible_view(p, _view()) == _view()
