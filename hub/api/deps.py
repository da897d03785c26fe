"""FastAPI dependencies: the services of one API process, the caller, the purpose.

Everything is built in the app's lifespan (hub.api.app), never at import time, and reached
through `request.app.state.services`. Authentication is deny by default: every route except
/healthz and the OpenAPI document depends on `CurrentPrincipal`, which answers 401 without a
valid Bearer token (`token-expired` for the right token past its end: its holder needs a new
one, not a retry).
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from catalog.store import CatalogStore
from desensitize.pseudonym import Pseudonymiser
from hub.api.lookup import ResidentDocuments, ResidentKeys
from hub.api.problems import ApiProblem
from hub.audit.log import AuditLog
from hub.pipeline.jobs import JobQueue
from hub.security.errors import TokenExpired
from hub.security.roles import Principal
from hub.security.tokens import TokenStore, bearer_token
from hub.settings import HubSettings
from hub.views.read import ViewReader


@dataclass
class Services:
    """What every request of one API worker process shares."""

    settings: HubSettings
    engine: Engine
    views: ViewReader
    tokens: TokenStore
    audit: AuditLog
    jobs: JobQueue
    catalog: CatalogStore
    sources: dict[str, Path]  # source name -> YAML (uploads pick one)
    source_datasets: dict[str, str]  # source name -> dataset
    pseudonym_key: bytes = field(repr=False)
    # The look-up hot path (hub.api.lookup): ID number -> key, key -> document text.
    resident_keys: ResidentKeys = field(repr=False)
    documents: ResidentDocuments = field(repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def pseudonymiser(self) -> Pseudonymiser:
        """One per thread: a Pseudonymiser holds a DuckDB connection and is not thread-safe."""
        current: Pseudonymiser | None = getattr(self._local, "pseudonymiser", None)
        if current is None:
            current = Pseudonymiser(self.pseudonym_key)
            self._local.pseudonymiser = current
        return current


def get_services(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:  # the lifespan did not run (or failed): never serve half-configured
        raise ApiProblem(503, "not-ready", "Not ready", "the API is starting or misconfigured")
    return services


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in the
# thread pool, and a thread hop per dependency cost more than the rest of a look-up (py-spy).
# None of them blocks: attribute reads, and a token row read only when the cache misses.
async def _services_dependency(request: Request) -> Services:
    return get_services(request)


ServicesDep = Annotated[Services, Depends(_services_dependency)]

# Documents the scheme in OpenAPI; the header itself is parsed strictly by `bearer_token`.
_bearer = HTTPBearer(auto_error=False, description="an API token from `hub token create`")
# Set by `optional_principal` for this request: the caller sent a token that has expired.
_token_expired: ContextVar[bool] = ContextVar("hub_token_expired", default=False)


def unauthenticated() -> ApiProblem:
    if _token_expired.get():
        return ApiProblem(401, "token-expired", "Token expired",
                          "the API token has expired; ask an administrator for a new one "
                          "(`hub token create`)",
                          headers={"WWW-Authenticate": 'Bearer error="invalid_token", '
                                                       'error_description="token expired"'})
    return ApiProblem(401, "unauthenticated", "Unauthenticated",
                      "send a valid API token as `Authorization: Bearer <token>`",
                      headers={"WWW-Authenticate": "Bearer"})


def http_bearer_accepts(authorization: str | None) -> bool:
    """What FastAPI's HTTPBearer lets through: a non-empty `<scheme> <credentials>` whose
    scheme is `bearer` in any case (the token is then parsed strictly by `bearer_token`)."""
    if not authorization:
        return False
    scheme, _, credentials = authorization.partition(" ")
    return bool(scheme and credentials.strip()) and scheme.lower() == "bearer"


def principal_of(services: Services, authorization: str | None) -> Principal | None:
    """The caller of an `Authorization` header, or None (no token, or not a valid one; an
    expired one is noted for `unauthenticated`)."""
    _token_expired.set(False)
    token = bearer_token(authorization)
    if token is None:
        return None
    try:
        return services.tokens.authenticate(token)
    except TokenExpired:
        _token_expired.set(True)
        return None


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """The caller, or None (resident routes audit a refusal before answering 401)."""
    header = request.headers.get("authorization") if credentials else None
    return principal_of(get_services(request), header)


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def current_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise unauthenticated()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

Purpose = Annotated[str | None, Query(
    description="why the resident data is needed; one of the fixed purposes "
                "(e.g. assistance_review, case_management, emergency). Required.",
    examples=["assistance_review"], max_length=64)]


def forbidden(detail: str) -> ApiProblem:
    return ApiProblem(403, "forbidden", "Forbidden", detail)
