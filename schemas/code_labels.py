"""Chinese and English labels of the coded values people read: departments, programs,
kinds, units, special groups, relations (schemas/labels/codes.yaml, beside the contracts).

Vocabularies are named after the contract column that holds the code (`program`, `kind`,
`special_groups`, ...), plus `department`. A code without a label is a bug, caught by the
tests; at run time it is shown as itself.
"""

from __future__ import annotations

from functools import cache

import yaml

from schemas.rule_labels import LABELS_DIR, Language


@cache
def code_labels() -> dict[str, dict[str, dict[str, str]]]:
    """vocabulary -> code -> language -> label."""
    text = (LABELS_DIR / "codes.yaml").read_text(encoding="utf-8")
    labels: dict[str, dict[str, dict[str, str]]] = yaml.safe_load(text)
    return labels


def code_label(vocabulary: str, code: str, language: Language = "zh") -> str:
    return code_labels().get(vocabulary, {}).get(code, {}).get(language, code)
