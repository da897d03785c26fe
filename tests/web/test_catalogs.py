"""Chinese first: every console text has a Chinese translation, every coded value a label."""

from __future__ import annotations

from pathlib import Path

import yaml
from babel.messages.extract import extract_from_dir

from hub.security.purposes import PURPOSES
from hub.security.roles import Role
from hub.views.rules import RULES_DIR
from hub.web.i18n import translations
from hub.web.nav import NAV
from schemas.registry import source_contracts
from schemas.value_labels import GROUPS, value_labels

TEMPLATES = Path(__file__).resolve().parents[2] / "hub" / "pages" / "templates" / "console"


def _message_ids() -> set[str]:
    found = extract_from_dir(str(TEMPLATES), method_map=[("**.html", "jinja2")],
                             options_map={"**.html": {"extensions": "jinja2.ext.i18n"}})
    navigation = {entry.label for entries in NAV.values() for entry in entries}
    return {m if isinstance(m, str) else m[0] for _f, _l, m, _c, _x in found} | navigation


def test_every_console_text_is_translated_to_chinese() -> None:
    ids = _message_ids()
    assert len(ids) > 50  # the extraction found the templates' texts
    chinese = translations("zh")
    missing = sorted(i for i in ids if chinese.gettext(i) == i)
    assert missing == []


def _codes(contract: str, column: str) -> set[str]:
    return set(source_contracts()[contract].column(column).allowed or [])


def test_every_coded_value_has_chinese_and_english_labels() -> None:
    labels = value_labels()
    assert set(GROUPS) == set(labels)
    wanted = {
        "special_groups": _codes("grid", "special_groups"),
        "relations": _codes("grid", "relation_to_head"),
        "genders": _codes("grid", "gender"),
        "statuses": _codes("employment", "employment_status"),
        "datasets": set(source_contracts()),
        "departments": {c.owner for c in source_contracts().values()},
        "purposes": set(PURPOSES),
        "roles": {r.value for r in Role},
        "findings": {r["id"] for path in RULES_DIR.glob("*.yaml")
                     for r in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]},
        "programs": set().union(*(
            _codes(name, c.ledger.program) - set(c.ledger.exclude_programs)
            for name, c in source_contracts().items() if c.ledger is not None)),
    }
    for group, codes in wanted.items():
        assert codes, group
        assert codes <= set(labels[group]), (group, sorted(codes - set(labels[group])))
    for group, entries in labels.items():
        for code, entry in entries.items():
            assert entry.get("zh"), (group, code)
            assert entry.get("en"), (group, code)
