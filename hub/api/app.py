"""The FastAPI app factory. Nothing is read or connected at import time: `create_app` stores
the settings (or reads `HUB_*` at startup when none are given) and the lifespan opens the
state store, the keys it needs (pseudonym key and token pepper; never the vault key) and the
services every request shares.

The access log is written here (hub.api.access_log), not by uvicorn: it names the route
template (`/v1/residents/{resident_key}`), never the raw path or query string, so that
whatever a client puts in a URL (an ID number, say) never reaches a log line.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog.store import CatalogStore
from connectors.source import source_catalogue
from hub.api import search_lane
from hub.api.access_log import access_line
from hub.api.deps import Services, http_bearer_accepts, principal_of
from hub.api.guard import ResidentGate
from hub.api.lookup import ResidentDocuments, ResidentKeys
from hub.api.problems import install_problem_handlers, problem_response
from hub.api.responses import install_contract
from hub.api.routers import (
    admin,
    audit,
    batches,
    catalog,
    corrections,
    exports,
    grids,
    health,
    households,
    inbox,
    quality,
    referrals,
    residents,
    reviews,
    sharing_requests,
    uploads,
)
from hub.api.search_lane import SearchLane
from hub.audit.log import AuditLog
from hub.keys.config import load_keyring, load_security_keys
from hub.pipeline.jobs import JobQueue
from hub.security.tokens import TOKEN_CACHE_SECONDS, TokenStore
from hub.settings import HubSettings
from hub.state.migrate import open_state_store
from hub.views.read import ViewReader

log = logging.getLogger("hub.api")
_LANE = SearchLane()
EXCHANGE = "hub.exchange"  # the scope's key of a request's Exchange opened at the app's entry

RESIDENT_ROUTES = {
    "/v1/residents/search": "resident.search",
    "/v1/residents/{resident_key}": "resident.read",
    "/v1/households/{household_key}": "household.read",
    "/v1/grids/{grid_code}/residents": "grid.list",
    "/v1/residents/{resident_key}/reveal": "reveal",
}
# FastAPI's own OpenTelemetry: off. With a provider configured it would export request
# bodies, validation failures and exception messages (an ID number in a search among them)
# to wherever that provider sends them; the hub runs offline and logs route templates only.
# Off, it also skips the provider check on every request.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False,
                                 "operation_spans": False, "auto_configure": False}
DESCRIPTION = """
One look-up shows what every department knows and pays a resident, with source and as-of
date of each fact. Authenticate with `Authorization: Bearer <token>` (`hub token create`).
Every resident-level read states a purpose and leaves one record in the audit log; a
resident outside your jurisdiction answers exactly like one that does not exist. Errors are
`application/problem+json` and never echo what you sent.
"""


def build_services(settings: HubSettings) -> Services:
    # Keys first (hub.keys.config refuses missing, exposed or placeholder keys): a refused start
    # must not leave a new state store behind.
    security = load_security_keys(settings)
    keyring = load_keyring(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    # `hub serve` migrated the store before starting workers: here that is one version read.
    engine = open_state_store(settings.resolved_state_url)
    catalog_store = CatalogStore(engine)
    jobs = JobQueue(engine)
    # Valid tokens are cached for TOKEN_CACHE_SECONDS: a revocation from another process
    # reaches this one within that time (hub.security.tokens).
    tokens = TokenStore(engine, security.token_pepper, cache_seconds=TOKEN_CACHE_SECONDS)
    audit_log = AuditLog(engine, synchronous=settings.audit.synchronous)
    files, datasets = source_catalogue(settings.home / "sources")
    return Services(settings=settings, engine=engine, views=ViewReader(engine), tokens=tokens,
                    audit=audit_log, jobs=jobs, catalog=catalog_store, sources=files,
                    source_datasets=datasets, pseudonym_key=keyring.pseudonym_key,
                    resident_keys=ResidentKeys(keyring.pseudonym_key),
                    documents=ResidentDocuments(engine))


class Exchange:
    """One HTTP request's id (header `X-Request-ID`), status and time, its last-resort 500
    and its access line."""

    __slots__ = ("_send", "request_id", "response_started", "started", "status")

    def __init__(self, scope: Scope, send: Send) -> None:
        self.request_id = os.urandom(8).hex()  # as random as uuid4's first 16 hex digits
        scope.setdefault("state", {})["request_id"] = self.request_id
        self.started = time.perf_counter()
        self.status = 500
        self.response_started = False
        self._send = send

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.response_started = True
            message["headers"] = [*message.get("headers", ()),
                                  (b"x-request-id", self.request_id.encode())]
        await self._send(message)

    async def guarded(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """`app`, and a 500 problem if it fails before its answer started."""
        try:
            await app(scope, receive, send)
        except Exception as exc:
            # The message of an unknown exception may quote data: log the class only.
            log.error("request %s failed: unexpected %s", self.request_id,
                      exc.__class__.__name__)
            if not self.response_started:
                response = problem_response(
                    500, "internal-error", "Server error",
                    f"unexpected error; quote request id {self.request_id} to the "
                    "administrator")
                await response(scope, receive, send)

    def log(self, scope: Scope) -> None:
        template = getattr(scope.get("route"), "path", None) or "<unmatched>"
        access_line(scope["method"], template, self.status,
                    (time.perf_counter() - self.started) * 1000, self.request_id)


class RequestContext:
    """Every HTTP request's Exchange, opened here or, for a resident search, at the app's
    entry (HubAPI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        opened: Exchange | None = scope.get(EXCHANGE)
        if opened is not None:  # a search the lane handed to its route: `send` is its own
            await opened.guarded(self.app, scope, receive, send)
            return
        exchange = Exchange(scope, send)
        try:
            await exchange.guarded(self.app, scope, receive, exchange.send)
        finally:
            exchange.log(scope)


class HubAPI(FastAPI):
    """The API's FastAPI app. The usual resident search is answered at its entry, before
    Starlette's middleware stack (hub.api.search_lane) and with the same Exchange as every
    other request; what the lane does not take goes on through the stack to its route."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and search_lane.wants(scope):
            scope["app"] = self
            exchange = scope[EXCHANGE] = Exchange(scope, send)
            try:
                await exchange.guarded(self._search, scope, receive, exchange.send)
            finally:
                exchange.log(scope)
            return
        await super().__call__(scope, receive, send)

    async def _search(self, scope: Scope, receive: Receive, send: Send) -> None:
        replay = await _LANE(scope, receive, send)
        if replay is not None:
            await super().__call__(scope, replay, send)


async def _audit_invalid_request(request: Request, errors: list[dict[str, str]]
                                 ) -> JSONResponse | None:
    """A malformed request to a resident route is a refusal of resident data: record it."""
    route = request.scope.get("route")
    action = RESIDENT_ROUTES.get(getattr(route, "path", ""))
    services: Services | None = getattr(request.app.state, "services", None)
    if action is None or services is None:
        return None
    header = request.headers.get("authorization")
    principal = principal_of(services, header if http_bearer_accepts(header) else None)
    gate = ResidentGate(request, services, principal, action, deferred=True)
    fields = ",".join(sorted({e["field"] for e in errors}))[:200]
    try:
        gate.record("refused:invalid_request", detail=f"fields: {fields}")
        await gate.commit()
    except Exception as exc:
        status = getattr(exc, "status", 503)
        return problem_response(status, getattr(exc, "slug", "audit-unavailable"),
                                getattr(exc, "title", "Audit log unavailable"),
                                getattr(exc, "detail", "the audit log is unavailable"))
    return None


def create_app(settings: HubSettings | None = None) -> FastAPI:
    """The API. `settings` None: read `HUB_*` from the environment at startup. Its docs pages
    are served by the console room (hub.web.install), from files of the hub's own."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings or HubSettings())
        app.state.services = services
        try:
            yield
        finally:
            app.state.services = None
            services.documents.close()
            services.engine.dispose()

    app = HubAPI(title="Community data hub", version="1.0.0", description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None, telemetry=NO_TELEMETRY,
                  openapi_tags=[
                      {"name": "residents", "description": "resident views (purpose, audit)"},
                      {"name": "households", "description": "household views"},
                      {"name": "grids", "description": "residents of a grid cell"},
                      {"name": "uploads", "description": "department extracts"},
                      {"name": "catalog", "description": "dataset metadata"},
                      {"name": "quality", "description": "data-quality results and findings"},
                      {"name": "audit", "description": "the evidence log (auditors)"},
                      {"name": "corrections", "description": "correction requests"},
                      {"name": "sharing requests",
                       "description": "conditional sharing: requests and grants"},
                      {"name": "referrals", "description": "cases and referrals"},
                      {"name": "inbox", "description": "what waits for the caller"},
                      {"name": "health", "description": "liveness"}])
    app.state.services = None
    app.state.on_invalid_request = _audit_invalid_request
    install_problem_handlers(app)
    # Routes are matched in this order, one by one: the two a loaded server answers most
    # (liveness probes, resident look-ups) first (docs/profiles.md).
    for module in (health, residents, households, grids, uploads, batches, reviews, catalog,
                   quality, audit, admin):
        app.include_router(module.router)
    app.include_router(exports.router)  # safe releases (hub.release.jobs)
    for module in (corrections, sharing_requests, referrals, inbox):  # the loops
        app.include_router(module.router)
    app.add_middleware(RequestContext)
    install_contract(app)
    return app
