"""Tokens end: 90 days unless asked otherwise, refused after with their own problem, shown in
`hub token list`; the Authorization header is parsed strictly (issue: hardening, tokens)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from hub.cli.security import token_app
from hub.keys.config import load_security_keys
from hub.security.errors import TokenExpired, TokenLifetimeInvalid
from hub.security.roles import Role
from hub.security.tokens import TokenStore, bearer_token, parse_lifetime
from hub.settings import HubSettings
from hub.state.migrate import open_state_store


@pytest.fixture
def engine(state_engine: Engine) -> Engine:
    """These tests hold on both databases of the state store."""
    return state_engine


class WallClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_token_lasts_ninety_days_unless_asked_otherwise(tokens: TokenStore, engine: Engine,
                                                          pepper: bytes) -> None:
    clock = WallClock()
    store = TokenStore(engine, pepper, now=clock)
    default_id, default = store.create(Role.ADMIN, [], "admin")
    short_id, short = store.create(Role.AUDITOR, [], "audit", timedelta(hours=12))
    listed = {r["token_id"]: r for r in store.list()}
    assert listed[default_id]["expires_at"] == "2026-05-30T08:00:00Z"
    assert listed[short_id]["expires_at"] == "2026-03-01T20:00:00Z"

    clock.now += timedelta(hours=12) - timedelta(seconds=1)
    assert store.authenticate(short) is not None
    clock.now += timedelta(seconds=1)
    with pytest.raises(TokenExpired) as info:
        store.authenticate(short)
    assert info.value.token_id == short_id
    assert short.split("_", 2)[2] not in str(info.value)
    assert store.authenticate(default) is not None
    assert {r["token_id"]: r["active"] for r in store.list()} == {default_id: True,
                                                                 short_id: False}
    # Expiry is told only to the holder of the whole token: a wrong secret learns nothing.
    assert store.authenticate(short[:-1] + ("A" if short[-1] != "A" else "B")) is None


def test_the_cache_does_not_outlive_the_token(engine: Engine, pepper: bytes,
                                              tokens: TokenStore) -> None:
    clock = WallClock()
    api = TokenStore(engine, pepper, cache_seconds=3600, clock=lambda: 0.0, now=clock)
    _, token = api.create(Role.ADMIN, [], "admin", timedelta(hours=1))
    assert api.authenticate(token) is not None  # cached, for an hour of the monotonic clock
    clock.now += timedelta(hours=1)
    with pytest.raises(TokenExpired):
        api.authenticate(token)


@pytest.mark.parametrize(("text", "lifetime"), [
    ("90d", timedelta(days=90)), ("2w", timedelta(weeks=2)), ("12h", timedelta(hours=12)),
    (" 730D ", timedelta(days=730)),
])
def test_lifetimes(text: str, lifetime: timedelta) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize("text", ["", "0d", "90", "d", "-1d", "1.5d", "731d", "105w", "1y",
                                  "90 d", "９０d"])
def test_bad_lifetimes_are_refused(text: str) -> None:
    with pytest.raises(TokenLifetimeInvalid):
        parse_lifetime(text)


def test_the_store_refuses_a_lifetime_out_of_bounds(tokens: TokenStore) -> None:
    for lifetime in (timedelta(0), timedelta(seconds=-1), timedelta(days=731)):
        with pytest.raises(TokenLifetimeInvalid):
            tokens.create(Role.ADMIN, [], "x", lifetime)
    assert tokens.list() == []


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer hub_0123456789abcdef_abc-_DEF", "hub_0123456789abcdef_abc-_DEF"),
    ("bearer  tok", "tok"),
    ("BEARER tok=", "tok="),
    (None, None),
    ("", None),
    ("Bearer", None),
    ("Bearer ", None),
    ("Bearer Bearer tok", None),
    ("Bearer tok tok", None),
    ("Bearer tok,Bearer other", None),
    ("Basic dXNlcjpwYXNz", None),
    ("Bearertok", None),
    ("Bearer tok\x00", None),
    ("Token tok", None),
])
def test_the_header_is_exactly_bearer_and_one_token(header: str | None,
                                                    token: str | None) -> None:
    assert bearer_token(header) == token


def test_token_cli_takes_a_lifetime_and_lists_the_end(settings: HubSettings) -> None:
    runner = CliRunner()
    made = runner.invoke(token_app, ["create", "--role", "auditor", "--name", "audit",
                                     "--expires-in", "2w"])
    assert made.exit_code == 0, made.output
    assert "valid until" in made.output
    refused = runner.invoke(token_app, ["create", "--role", "auditor", "--name", "x",
                                        "--expires-in", "10y"])
    assert refused.exit_code == 2  # a lifetime the command does not accept is bad input
    assert "90d" in refused.output  # says what a lifetime looks like

    (row,) = json.loads(runner.invoke(token_app, ["list", "--json"]).stdout)
    ends = datetime.fromisoformat(row["expires_at"].replace("Z", "+00:00"))
    assert abs(ends - datetime.now(UTC) - timedelta(weeks=2)) < timedelta(minutes=5)
    table = runner.invoke(token_app, ["list"], env={"COLUMNS": "200"})
    assert "expires" in table.stdout
    assert row["expires_at"] in table.stdout

    engine = open_state_store(settings.resolved_state_url)
    past = TokenStore(engine, load_security_keys(settings).token_pepper,
                      now=lambda: datetime.now(UTC) - timedelta(days=30))
    past.create(Role.AUDITOR, [], "old", timedelta(days=1))
    engine.dispose()
    table = runner.invoke(token_app, ["list"], env={"COLUMNS": "200"})
    assert "(expired)" in table.stdout
