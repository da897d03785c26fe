"""Message catalogs of the console: zh-CN by default, English as a per-user setting.

The templates' texts are English message ids (`_("...")`, `{% trans %}`) and the Chinese
catalog (locale/zh_CN/LC_MESSAGES/console.po, with the other .po files beside it) is compiled
in memory with Babel at first use, so that a fresh clone needs no build step and no compiled
file is kept in git. English is the message ids themselves.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

DOMAIN = "console"
DEFAULT_LOCALE = "zh"
CATALOGS = {"zh": "zh_CN"}  # console locale -> catalog folder; "en" is the message ids


@cache
def translations(locale: str) -> gettext.NullTranslations:
    folder = CATALOGS.get(locale)
    if folder is None:
        return gettext.NullTranslations()
    messages = files("hub.web") / "locale" / folder / "LC_MESSAGES"
    with (messages / f"{DOMAIN}.po").open("rb") as handle:
        catalog = read_po(handle, locale=folder)
    # Other catalogs beside it (a room's own pages, e.g. casework.po) join the one domain.
    for extra in sorted((p for p in messages.iterdir() if p.name.endswith(".po")
                         and p.name != f"{DOMAIN}.po"), key=lambda p: p.name):
        with extra.open("rb") as handle:
            for message in read_po(handle, locale=folder):
                if message.id:
                    catalog[message.id] = message
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _newstyle(func: Callable[..., str]) -> Callable[..., str]:
    """As Jinja2's i18n extension (newstyle): escaped under autoescape, %-formatted."""

    @pass_context
    def call(__context: Context, __string: str, *args: Any, **variables: Any) -> str:
        text: str = func(__string, *args)
        if __context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables if variables else text

    return call


def template_functions(locale: str) -> dict[str, Any]:
    """`_`, `gettext` and `ngettext` for one render, in the user's language."""
    found = translations(locale)
    gettext_ = _newstyle(found.gettext)
    return {"_": gettext_, "gettext": gettext_, "ngettext": _newstyle(found.ngettext)}
