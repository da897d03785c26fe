"""The console's stores of one process, built from the API's services at first use."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine

from hub.api.deps import Services, get_services
from hub.settings import HubSettings
from hub.web.accounts import UserStore
from hub.web.sessions import SessionStore

_lock = threading.Lock()


@dataclass
class ConsoleState:
    services: Services
    users: UserStore
    sessions: SessionStore


def stores(engine: Engine, settings: HubSettings) -> tuple[UserStore, SessionStore]:
    console = settings.console
    return (UserStore(engine, console.lockout_attempts, console.lockout_seconds),
            SessionStore(engine, console.idle_seconds))


def console_state(request: Request) -> ConsoleState:
    services = get_services(request)
    state: ConsoleState | None = getattr(request.app.state, "console", None)
    if state is None or state.services is not services:
        with _lock:
            state = getattr(request.app.state, "console", None)
            if state is None or state.services is not services:
                users, sessions = stores(services.engine, services.settings)
                state = ConsoleState(services, users, sessions)
                request.app.state.console = state
    return state
