"""The API's token cache: fewer row reads, and a revocation still takes effect within the
documented bound (TOKEN_CACHE_SECONDS) in every process. A fake clock stands in for time."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine

from hub.security.roles import Role
from hub.security.tokens import TOKEN_CACHE_SECONDS, TokenStore
from hub.state.migrate import upgrade_state


@pytest.fixture
def engine(state_engine: Engine) -> Engine:
    """These tests hold on both databases of the state store."""
    return state_engine


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _api_store(engine: Engine, pepper: bytes, clock: Clock) -> TokenStore:
    return TokenStore(engine, pepper, cache_seconds=TOKEN_CACHE_SECONDS, clock=clock)


def test_a_revocation_elsewhere_is_refused_within_the_cache_period(
        tokens: TokenStore, engine: Engine, pepper: bytes) -> None:
    clock = Clock()
    api = _api_store(engine, pepper, clock)  # an API worker process
    token_id, token = tokens.create(Role.STREET_OFFICE, ["110105001"], "street A")
    assert api.authenticate(token) is not None

    assert tokens.revoke(token_id)  # `hub token revoke`: another process, another store
    clock.now += TOKEN_CACHE_SECONDS * 0.5
    # The documented delay: still served from the cache, never longer than the period.
    assert api.authenticate(token) is not None
    clock.now += TOKEN_CACHE_SECONDS * 0.5 + 0.01
    assert api.authenticate(token) is None
    clock.now += 0.01
    assert api.authenticate(token) is None  # refused tokens are not cached


def test_a_revocation_through_the_same_store_is_immediate(engine: Engine,
                                                          pepper: bytes) -> None:
    api = _api_store(engine, pepper, Clock())
    upgrade_state(api.engine)
    token_id, token = api.create(Role.ADMIN, [], "admin")
    assert api.authenticate(token) is not None
    assert api.revoke(token_id)
    assert api.authenticate(token) is None


def test_the_cache_answers_only_the_whole_token(tokens: TokenStore, engine: Engine,
                                                pepper: bytes) -> None:
    api = _api_store(engine, pepper, Clock())
    _, token = tokens.create(Role.ADMIN, [], "admin")
    assert api.authenticate(token) is not None  # cached now
    prefix, token_id, secret = token.split("_", 2)
    forged = f"{prefix}_{token_id}_{'A' * len(secret)}"
    assert api.authenticate(forged) is None
    assert api.authenticate(token[:-1]) is None
    assert api.authenticate(token) is not None


def test_the_cache_saves_the_row_reads(tokens: TokenStore, engine: Engine,
                                       pepper: bytes) -> None:
    clock = Clock()
    api = _api_store(engine, pepper, clock)
    _, token = tokens.create(Role.ADMIN, [], "admin")
    reads = 0
    real_connect = engine.connect

    def counting_connect() -> Connection:
        nonlocal reads
        reads += 1
        return real_connect()

    engine.connect = counting_connect  # type: ignore[method-assign]
    try:
        for _ in range(20):
            assert api.authenticate(token) is not None
        assert reads == 1
        clock.now += TOKEN_CACHE_SECONDS + 0.01
        assert api.authenticate(token) is not None
        assert reads == 2  # the row is read again once the period is over
    finally:
        engine.connect = real_connect  # type: ignore[method-assign]


def test_without_a_cache_a_revocation_elsewhere_is_immediate(tokens: TokenStore,
                                                            engine: Engine,
                                                            pepper: bytes) -> None:
    token_id, token = tokens.create(Role.ADMIN, [], "admin")
    assert tokens.cache_seconds == 0  # the default: CLI commands and tests
    assert tokens.authenticate(token) is not None
    assert TokenStore(engine, pepper).revoke(token_id)
    assert tokens.authenticate(token) is None
