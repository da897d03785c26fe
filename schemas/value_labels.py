"""Labels of coded values (programs, kinds, departments, special groups, relations, statuses,
finding rules) in Chinese and English.

The labels are data (schemas/labels/values.yaml), beside the contracts and the rule labels
(schemas.rule_labels), so that the console, the reports and the API say the same thing. An
unknown code shows as itself: a label missing is a gap to fill, never a failure to show data.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml

LABELS_DIR = Path(__file__).parent / "labels"
Language = Literal["zh", "en"]
GROUPS = ("programs", "kinds", "units", "departments", "datasets", "special_groups",
          "relations", "genders", "statuses", "attributes", "purposes", "findings", "roles",
          "outcomes", "load_modes", "sharing", "sensitivity", "linked_by", "audit_actions",
          "audit_outcomes")


@cache
def value_labels() -> dict[str, dict[str, dict[str, str]]]:
    """group -> code -> language -> label."""
    text = (LABELS_DIR / "values.yaml").read_text(encoding="utf-8")
    labels: dict[str, dict[str, dict[str, str]]] = yaml.safe_load(text)
    return labels


def label(group: str, code: object, language: Language = "zh") -> str:
    """The label of `code` in `group`; the code itself when it has none (None: empty)."""
    if code is None:
        return ""
    entry = value_labels().get(group, {}).get(str(code))
    return entry[language] if entry else str(code)
