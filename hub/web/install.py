"""The app `hub serve` runs: the API with the console beside it (its pages, its static files,
the offline API docs)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hub.api.app import create_app
from hub.settings import HubSettings
from hub.web import docs, routes_auth, routes_grids, routes_residents, routes_reviews


def install_console(app: FastAPI) -> None:
    """Call on an app made with docs_url=None and redoc_url=None."""
    for module in (routes_auth, routes_residents, routes_grids, routes_reviews, docs):
        app.include_router(module.router)
    static = Path(str(files("hub.web") / "static"))
    app.mount("/console/static", StaticFiles(directory=static), name="console-static")


def create_hub_app(settings: HubSettings | None = None) -> FastAPI:
    """The API (hub.api.app.create_app) and the console on one app."""
    app = create_app(settings)
    install_console(app)
    return app
