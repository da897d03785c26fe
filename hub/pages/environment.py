"""The Jinja2 environment of every hub page, and rendering a page as one self-contained file.

Autoescaping is on for every template: names of datasets, rules or recipients come from
configuration that departments write, and must never become markup.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

STYLESHEET = "hub.css"


def _blank_none(value: Any) -> Any:
    return "" if value is None else value


def share(value: Any, empty: str = "") -> str:
    """0.0123 -> 1.23%; a missing share stays blank (or `empty`)."""
    return empty if value is None else f"{float(value):.2%}"


def decimal(value: Any, digits: int = 1, empty: str = "") -> str:
    """A number with `digits` decimals; a missing one stays blank (or `empty`)."""
    return empty if value is None else f"{float(value):.{digits}f}"


@cache
def page_environment() -> Environment:
    """One environment per process (it caches compiled templates)."""
    env = Environment(loader=PackageLoader("hub.pages", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, finalize=_blank_none,
                      extensions=["jinja2.ext.i18n"])
    # Reports render untranslated; the console passes the user's catalog per render
    # (hub.web.i18n), which shadows these.
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["share"] = share
    env.filters["decimal"] = decimal
    return env


@cache
def stylesheet() -> Markup:
    """The stylesheet's text, trusted: it is the hub's own file, never user input."""
    text = (files("hub.pages") / "static" / STYLESHEET).read_text(encoding="utf-8")
    return Markup(text)


def render_page(template: str, /, **context: Any) -> str:
    """A whole HTML document with the stylesheet inlined: a report file copied elsewhere,
    opened without network, looks the same."""
    return page_environment().get_template(template).render(stylesheet=stylesheet(), **context)
