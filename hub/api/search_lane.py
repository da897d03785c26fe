"""`POST /v1/residents/search` answered before FastAPI's routing and dependency layer.

A search is the request a loaded hub answers most, and most of its CPU went to the framework
around it: matching the route, resolving four dependencies, reading the body through a
content-type parser and a validation model, wrapping the response (docs/profiles.md). Here
the usual request (a JSON body of `id_number` and `purpose`, no query string) is answered
straight from the ASGI scope, through the same decision and audit code as the route
(hub.api.routers.residents.answer_search, ResidentGate): the same caller check, purpose,
scope and not-found rules, one audit record committed before the answer, the same bytes.

Everything else goes to the route, untouched: a query string (`labels`), another content
type, a body that is not exactly a valid `ResidentSearch` (its 422 and its audit record come
from the route's own validation), a larger body, or a server that is not ready. The route
then reads the body this lane already read, replayed message by message.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from hub.api.deps import Services, http_bearer_accepts, principal_of
from hub.api.labels import accepted_language
from hub.api.problems import project_error_response
from hub.api.routers import residents
from hub.api.routers.residents import ResidentSearch, answer_search
from schemas.errors import DataHubError

SEARCH_PATH = "/v1/residents/search"
# The route this lane stands in for: its template names the request in the access log.
SEARCH_ROUTE = next(r for r in residents.router.routes
                    if getattr(r, "name", None) == "search_resident")
MAX_BODY = 4096  # an ID number and a purpose fit many times over


def wants(scope: Scope) -> bool:
    return scope["path"] == SEARCH_PATH and scope["method"] == "POST" \
        and not scope.get("query_string")


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` that gives back the messages already read, then the connection's own."""
    queued = list(messages)

    async def replayed() -> Message:
        return queued.pop(0) if queued else await receive()

    return replayed


def _json_content(value: bytes | None) -> bool:
    return value is not None and value.split(b";", 1)[0].strip().lower() == b"application/json"


class SearchLane:
    """One per app: answers a search and returns None, or returns the `receive` from which
    FastAPI reads the request it is to answer instead."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        app = scope.get("app")
        services: Services | None = getattr(getattr(app, "state", None), "services", None)
        content_type = authorization = languages = None
        for name, value in scope["headers"]:  # the first of each, as Request.headers.get
            if name == b"content-type" and content_type is None:
                content_type = value
            elif name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"accept-language" and languages is None:
                languages = value
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return _replay(messages, receive)  # disconnected: the route's own handling
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                return _replay(messages, receive)
            if not message.get("more_body", False):
                break
        if services is None or not _json_content(content_type):
            return _replay(messages, receive)
        try:
            search = ResidentSearch.model_validate_json(body)
        except ValidationError:
            return _replay(messages, receive)
        scope["route"] = SEARCH_ROUTE
        header = authorization.decode("latin-1") if authorization is not None else None
        language = accepted_language(languages.decode("latin-1")) if languages else None
        bearer = header if http_bearer_accepts(header) else None
        try:
            response = await answer_search(Request(scope, receive), services,
                                           lambda: principal_of(services, bearer), search,
                                           language)
        except DataHubError as exc:  # ApiProblem among them: the route's handlers' answers
            response = project_error_response(
                str(scope.get("state", {}).get("request_id", "-")), exc)
        await response(scope, receive, send)
        return None
