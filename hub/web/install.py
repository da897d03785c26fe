"""The app `hub serve` runs: the API with the console beside it (its pages, its static files,
the offline API docs)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hub.api.app import create_app
from hub.settings import HubSettings
from hub.web import (
    docs,
    nav,
    routes_admin,
    routes_audit,
    routes_auth,
    routes_cases,
    routes_corrections,
    routes_grids,
    routes_inbox,
    routes_quality,
    routes_residents,
    routes_reviews,
    routes_sharing,
    routes_uploads,
)


def install_console(app: FastAPI) -> None:
    """Call on an app made with docs_url=None and redoc_url=None."""
    for module in (routes_auth, routes_residents, routes_grids, routes_uploads,
                   routes_quality, routes_audit, routes_admin, routes_reviews, docs):
        app.include_router(module.router)
    for module in (routes_inbox, routes_corrections, routes_sharing, routes_cases):  # loops
        app.include_router(module.router)
    nav.add(("department", "admin"), "/console/reviews", "Linkage reviews")  # data stewards
    # The loops' pages come after each role's own: every signed-in role has an inbox.
    for href, label in (("/console/inbox", "Inbox"), ("/console/corrections", "Corrections"),
                        ("/console/sharing", "Sharing requests"), ("/console/cases", "Cases")):
        nav.add(tuple(nav.NAV), href, label)
    static = Path(str(files("hub.web") / "static"))
    app.mount("/console/static", StaticFiles(directory=static), name="console-static")


def create_hub_app(settings: HubSettings | None = None) -> FastAPI:
    """The API (hub.api.app.create_app) and the console on one app."""
    app = create_app(settings)
    install_console(app)
    return app
