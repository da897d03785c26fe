"""Every error class of the project has a deliberate HTTP status in the API's registry."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from hub.api.problems import status_for, status_registry

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hub", "connectors", "schemas", "desensitize", "catalog")


def _modules_defining_classes() -> list[str]:
    """Modules whose source defines a class with a base (parsed, so that modules that are
    slow to import, e.g. the quality step, are imported only if they could hold one)."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if any(isinstance(node, ast.ClassDef) and node.bases for node in ast.walk(tree)):
                parts = path.relative_to(ROOT).with_suffix("").parts
                names.append(".".join(p for p in parts if p != "__init__"))
    return names


def _error_classes() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for name in _modules_defining_classes():
        source = (ROOT / Path(*name.split("."))).with_suffix(".py")
        if not source.exists():
            source = ROOT / Path(*name.split(".")) / "__init__.py"
        tree = ast.parse(source.read_text(encoding="utf-8"))
        class_names = [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
        module = importlib.import_module(name)
        for cls_name in class_names:
            cls = getattr(module, cls_name, None)
            if isinstance(cls, type) and issubclass(cls, Exception) \
                    and cls.__module__ == module.__name__:
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return sorted(found.values(), key=lambda c: (c.__module__, c.__qualname__))


ERRORS = _error_classes()
API_OWN = {"hub.api.problems.ApiProblem"}  # carries its own status


def test_the_scan_finds_the_project_errors() -> None:
    names = {c.__name__ for c in ERRORS}
    assert {"ContractNotFound", "ExtractUnreadable", "KeyFileInsecure", "DatasetUnknown",
            "WarehouseBusy", "PurposeRequired", "AuditWriteFailed"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_error_class_has_its_own_status(cls: type[BaseException]) -> None:
    if f"{cls.__module__}.{cls.__qualname__}" in API_OWN:
        return
    registry = status_registry()
    assert cls in registry, f"add {cls.__module__}.{cls.__qualname__} to hub/api/problems.py"
    assert 400 <= registry[cls] <= 599


def test_statuses_follow_what_the_caller_can_do() -> None:
    from catalog.errors import DatasetUnknown
    from hub.audit.errors import AuditWriteFailed
    from hub.errors import WarehouseBusy
    from hub.security.errors import PurposeInvalid, PurposeRequired

    assert status_for(PurposeRequired(["emergency"])) == 400
    assert status_for(PurposeInvalid(["emergency"])) == 400
    assert status_for(DatasetUnknown("x", [])) == 404
    assert status_for(AuditWriteFailed("sqlite://", "locked")) == 503
    assert status_for(WarehouseBusy("w", "pid 1")) == 503
