"""Adding the console to the API app: its pages, its static files, the offline API docs."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hub.web import docs, routes_auth, routes_grids, routes_residents


def install_console(app: FastAPI) -> None:
    """Call on an app made with docs_url=None and redoc_url=None."""
    for module in (routes_auth, routes_residents, routes_grids, docs):
        app.include_router(module.router)
    static = Path(str(files("hub.web") / "static"))
    app.mount("/console/static", StaticFiles(directory=static), name="console-static")
