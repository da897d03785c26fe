"""Tokens: stored only as a keyed hash, shown once, revocable, scopes validated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from hub.security.errors import RoleInvalid, ScopeInvalid, TokenNameInvalid
from hub.security.roles import Principal, Role
from hub.security.tokens import TokenStore
from hub.state.tables import api_tokens


def _store_bytes(engine: Engine) -> bytes:
    if engine.dialect.name != "sqlite":  # a server: everything its token table holds
        with engine.connect() as conn:
            return str(conn.execute(select(api_tokens)).all()).encode()
    engine.dispose()  # close pooled connections so that everything written is on disk
    path = Path(str(engine.url.database))
    # WAL mode: recent pages live in the -wal file until a checkpoint, so read both.
    files = [path, path.with_name(path.name + "-wal")]
    return b"".join(p.read_bytes() for p in files if p.exists())


@pytest.fixture
def engine(state_engine: Engine) -> Engine:
    """These tests hold on both databases of the state store."""
    return state_engine


def test_token_is_stored_only_as_a_keyed_hash(tokens: TokenStore, engine: Engine) -> None:
    token_id, token = tokens.create(Role.STREET_OFFICE, ["110105001"], "street A")
    secret = token.split("_", 2)[2]
    assert re.fullmatch(r"hub_[0-9a-f]{16}_[A-Za-z0-9_-]{32}", token)
    raw = _store_bytes(engine)
    assert token_id.encode() in raw  # the file is the right one and readable
    assert secret.encode() not in raw
    assert token.encode() not in raw
    assert all(secret not in str(v) for row in tokens.list() for v in row.values())


def test_valid_token_authenticates_to_its_role_and_scope(tokens: TokenStore) -> None:
    token_id, token = tokens.create("street_office", ["110105002,110105001", "110105001"],
                                    "street A")
    principal = tokens.authenticate(token)
    assert principal == Principal(token_id, "street A", Role.STREET_OFFICE,
                                  ("110105001", "110105002"))
    assert tokens.authenticate(f"Bearer {token}") is None  # the header is parsed before


def test_wrong_revoked_and_malformed_tokens_are_rejected(tokens: TokenStore,
                                                         pepper: bytes, engine: Engine) -> None:
    token_id, token = tokens.create(Role.ADMIN, [], "admin")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (tampered, f"hub_{'0' * 16}_{token.split('_', 2)[2]}", "", "hub_", token_id,
                token.upper(), token + "x", None):
        assert tokens.authenticate(bad) is None
    other_pepper = TokenStore(engine, bytes(b ^ 1 for b in pepper))
    assert other_pepper.authenticate(token) is None
    assert tokens.revoke(token_id) is True
    assert tokens.authenticate(token) is None
    assert tokens.revoke(token_id) is False  # already revoked
    assert tokens.revoke("nope") is False
    listed = {r["token_id"]: r for r in tokens.list()}
    assert listed[token_id]["active"] is False


def test_list_shows_no_secret_or_hash(tokens: TokenStore) -> None:
    tokens.create(Role.DEPARTMENT, ["medical"], "medical security")
    (row,) = tokens.list()
    assert set(row) == {"token_id", "name", "role", "scope", "created_at", "revoked_at",
                        "expires_at", "active"}
    assert row["scope"] == ["medical"]


@pytest.mark.parametrize(("role", "scope", "error"), [
    (Role.STREET_OFFICE, [], ScopeInvalid),
    (Role.STREET_OFFICE, ["11010500"], ScopeInvalid),        # 8 digits
    (Role.STREET_OFFICE, ["110105001001"], ScopeInvalid),    # a community, not a street
    (Role.STREET_OFFICE, ["１１０１０５００１"], ScopeInvalid),  # full-width digits
    (Role.STREET_OFFICE, ["*"], ScopeInvalid),
    (Role.DEPARTMENT, [], ScopeInvalid),
    (Role.DEPARTMENT, ["assistance_ledger"], ScopeInvalid),  # derived, not a source
    (Role.DEPARTMENT, ["payroll"], ScopeInvalid),
    (Role.AUDITOR, ["110105001"], ScopeInvalid),
    ("superuser", [], RoleInvalid),
])
def test_scope_must_fit_the_role(tokens: TokenStore, role: str, scope: list[str],
                                 error: type[Exception]) -> None:
    with pytest.raises(error):
        tokens.create(role, scope, "x")
    assert tokens.list() == []


def test_scope_errors_do_not_echo_the_input(tokens: TokenStore) -> None:
    with pytest.raises(ScopeInvalid) as info:
        tokens.create(Role.STREET_OFFICE, ["11010519800101123X"], "x")
    assert "11010519800101123X" not in str(info.value)


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "x" * 101])
def test_bad_names_are_refused(tokens: TokenStore, name: str) -> None:
    with pytest.raises(TokenNameInvalid):
        tokens.create(Role.ADMIN, ["*"], name)
