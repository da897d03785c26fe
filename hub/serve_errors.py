"""The start-up refusal of `hub serve`, kept apart from hub.serve so that the API's problem map
can name it without importing the server that builds the API."""

from __future__ import annotations

from hub.errors import HubError


class ServeRefused(HubError):
    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"hub serve refuses to start: {problem}")
