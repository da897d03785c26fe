"""One error tree: every project error derives from DataHubError and carries its HTTP status,
problem type and CLI exit code; the API and the CLI answer with exactly those."""

from __future__ import annotations

import ast
import importlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
import uvicorn
from rich.console import Console
from typer.testing import CliRunner

from hub.api.app import create_app
from hub.api.problems import PROBLEM_BASE, PROBLEM_JSON, ApiProblem
from hub.cli.terminal import exit_on_error
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from schemas.errors import DataHubError, ExitCode

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "connectors", "schemas", "desensitize", "catalog")


def _project_modules() -> list[str]:
    """Every module that defines a class (parsed first, so that modules slow to import, e.g.
    the quality step, are imported only if they could hold an error)."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if any(isinstance(node, ast.ClassDef) for node in ast.walk(tree)):
                parts = path.relative_to(ROOT).with_suffix("").parts
                names.append(".".join(p for p in parts if p != "__init__"))
    return names


def _exceptions_defined_in_project() -> list[type[BaseException]]:
    found = []
    for name in _project_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseException) \
                    and value.__module__ == module.__name__:
                found.append(value)
    return found


def _subclasses(root: type[DataHubError]) -> set[type[DataHubError]]:
    seen: set[type[DataHubError]] = set()
    stack = [root]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen and sub.__module__.split(".")[0] in PACKAGES:
                seen.add(sub)
                stack.append(sub)
    return seen


DEFINED = _exceptions_defined_in_project()
ERRORS = sorted({DataHubError} | _subclasses(DataHubError),
                key=lambda c: (c.__module__, c.__qualname__))


def _name(cls: type[BaseException]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _message(cls: type[DataHubError]) -> str:
    return f"{cls.__name__} for the test; run `hub init` next"


def _instance(cls: type[DataHubError]) -> DataHubError:
    """An instance without the class's own arguments: only the class attributes matter here
    (an ApiProblem, written by the API itself, is built as the routers build one)."""
    if issubclass(cls, ApiProblem):
        return cls(cls.status, cls.slug, "Test", _message(cls))
    error = cls.__new__(cls)
    Exception.__init__(error, _message(cls))
    return error


def test_every_project_exception_is_under_the_one_root() -> None:
    strays = [_name(c) for c in DEFINED if not issubclass(c, DataHubError)]
    assert strays == []
    assert set(DEFINED) <= set(ERRORS)
    names = {c.__name__ for c in ERRORS}
    assert {"ContractNotFound", "ExtractUnreadable", "KeyFileInsecure", "DatasetUnknown",
            "WarehouseBusy", "PurposeRequired", "AuditWriteFailed", "ReleaseNotPossible",
            "RotationNothingToDo", "CrosswalkInvalid", "RulesInvalid", "ServeRefused"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=_name)
def test_every_error_has_a_status_a_problem_type_and_an_exit_code(
        cls: type[DataHubError]) -> None:
    assert 400 <= cls.status <= 599
    assert cls.exit_code in (ExitCode.REFUSED, ExitCode.BAD_INPUT, ExitCode.BUSY,
                             ExitCode.CONFIG)
    assert "slug" in vars(cls), "each class names its own problem type"
    assert cls.slug.replace("-", "").isalnum()
    assert cls.slug == cls.slug.lower()


def test_problem_types_are_unique() -> None:
    slugs = [c.slug for c in ERRORS]
    assert len(slugs) == len(set(slugs))


def test_statuses_and_exit_codes_follow_what_the_caller_can_do() -> None:
    from catalog.errors import CatalogUnavailable, DatasetUnknown
    from connectors.errors import ExtractUnreadable, SourceUnavailable
    from desensitize.errors import KeyMissing
    from desensitize.release.errors import ReleaseNotPossible
    from hub.audit.errors import AuditWriteFailed
    from hub.errors import WarehouseBusy
    from hub.keys.rotation_errors import RotationInProgress, RotationNothingToDo
    from hub.security.errors import PurposeInvalid, PurposeRequired

    expected = {PurposeRequired: (400, 4), PurposeInvalid: (400, 4), DatasetUnknown: (404, 2),
                CatalogUnavailable: (503, 4), AuditWriteFailed: (503, 4),
                WarehouseBusy: (503, 3), ExtractUnreadable: (422, 2),
                SourceUnavailable: (502, 2), KeyMissing: (503, 4),
                ReleaseNotPossible: (422, 1), RotationNothingToDo: (409, 1),
                RotationInProgress: (503, 4)}
    assert {c: (c.status, int(c.exit_code)) for c in expected} == expected


# --- the API: a real uvicorn on 127.0.0.1 answering each error class -----------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def raising_api() -> Iterator[str]:
    """The real app (handlers, middleware) with one extra route raising the named error."""
    by_name = {_name(c): c for c in ERRORS}
    app = create_app(HubSettings(home=ROOT / "unused-home"))

    @app.get("/raise/{name}")
    def raise_error(name: str) -> None:
        raise _instance(by_name[name])

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("cls", ERRORS, ids=_name)
def test_the_api_answers_each_error_with_its_status_and_type(
        raising_api: str, cls: type[DataHubError]) -> None:
    answer = httpx.get(f"{raising_api}/raise/{_name(cls)}", timeout=10)
    assert answer.status_code == cls.status
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    body = answer.json()
    assert body["type"] == PROBLEM_BASE + cls.slug
    assert body["status"] == cls.status
    if issubclass(cls, ApiProblem):  # the API's own detail, written to be shown
        assert body["detail"] == _message(cls)
    elif cls.status >= 500:  # a server error shows the request id, never its message
        assert body["title"] == "Server error"
        assert answer.headers["x-request-id"] in body["detail"]
        assert cls.__name__ not in body["detail"]
    else:
        assert body["detail"] == str(_instance(cls))


# --- the CLI: each class through the one mapping, then real `hub` runs per exit code --------

@pytest.mark.parametrize("cls", ERRORS, ids=_name)
def test_the_cli_exits_with_each_errors_code(cls: type[DataHubError]) -> None:
    app = typer.Typer()

    @app.command()
    def fail() -> None:
        with exit_on_error(Console(stderr=True, width=200)):
            raise _instance(cls)

    result = CliRunner().invoke(app, [])
    assert result.exit_code == int(cls.exit_code)
    assert _message(cls) in result.output
    assert "Traceback" not in result.output


def _hub(settings: HubSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_HOME=str(settings.home), HUB_QUALITY_CHECKS="false")
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_hub_exits_1_when_refused(settings: HubSettings) -> None:
    refused = _hub(settings, "keys", "rotate", "--abort")  # RotationNothingToDo
    assert refused.returncode == ExitCode.REFUSED, refused.stderr
    assert "no key rotation is half done" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_hub_exits_2_on_bad_input(settings: HubSettings) -> None:
    unknown = _hub(settings, "catalog", "show", "no_such_dataset")  # DatasetUnknown
    assert unknown.returncode == ExitCode.BAD_INPUT, unknown.stderr
    assert "no_such_dataset" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_hub_exits_3_while_another_process_writes(settings: HubSettings) -> None:
    with PipelineWorker(settings):
        busy = _hub(settings, "publish")  # WarehouseBusy
    assert busy.returncode == ExitCode.BUSY, busy.stderr
    assert f"pid {os.getpid()}" in busy.stderr


def test_hub_exits_4_on_configuration(bare_settings: HubSettings) -> None:
    missing = _hub(bare_settings, "token", "list")  # KeyMissing: no keys in this home
    assert missing.returncode == ExitCode.CONFIG, missing.stderr
    assert "hub keys init" in missing.stderr
    assert "Traceback" not in missing.stderr
