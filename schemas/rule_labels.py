"""What each row-issue rule means and how to fix it at source, in Chinese and English.

The texts are data (schemas/labels/rules.yaml), beside the contracts, so that the batch
result, the clerk's error file and the console say the same thing. A rule without a label
is a bug, caught by the tests.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml

LABELS_DIR = Path(__file__).parent / "labels"
Language = Literal["zh", "en"]


@cache
def rule_labels() -> dict[str, dict[str, dict[str, str]]]:
    """rule -> language -> {"explanation", "hint"}."""
    text = (LABELS_DIR / "rules.yaml").read_text(encoding="utf-8")
    labels: dict[str, dict[str, dict[str, str]]] = yaml.safe_load(text)
    return labels


def describe(rule: str, language: Language = "zh") -> tuple[str, str]:
    """(explanation, hint) of a rule; a rule without a label says so instead of failing."""
    label = rule_labels().get(rule, {}).get(language)
    if label is None:
        unknown = ("未登记说明的规则。", "请联系数据中心管理员。") if language == "zh" else (
            "A rule without a description.", "Ask the hub's administrator.")
        return unknown
    return label["explanation"], label["hint"]
