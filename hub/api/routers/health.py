"""Liveness and readiness: no authentication, no data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Health check",
            responses={200: {"description": "ready", "content": {"application/json": {
                "example": {"status": "ok", "state_store": "ok"}}}},
                503: {"description": "starting, or the state store cannot be reached",
                      "content": {"application/json": {"example": {
                          "status": "degraded", "state_store": "OperationalError"}}}}})
async def healthz(request: Request) -> Any:
    # On the event loop, through the look-up's own reader: a `SELECT 1` costs microseconds,
    # less than a thread-pool hop or a pool check-out.
    services = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        services.documents.ping()
    except Exception as exc:  # only the class: a driver message may carry a URL
        return JSONResponse({"status": "degraded", "state_store": exc.__class__.__name__},
                            status_code=503)
    return {"status": "ok", "state_store": "ok"}
