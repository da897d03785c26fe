"""Every rule a clerk can meet has an explanation and a fix, in Chinese and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors import cells, parsing
from schemas import compile_pandera, identity
from schemas.rule_labels import describe, rule_labels


def _rules_in_code() -> set[str]:
    rules = {"duplicate_key", "code:unmapped", cells.MALFORMED_ROW, cells.ENCODING,
             cells.NUL_BYTE, cells.MERGED_CELL}
    for module in (identity, compile_pandera):
        rules |= {v for k, v in vars(module).items()
                  if k.isupper() and isinstance(v, str) and (
                      re.fullmatch(r"[a-z_]+:[a-z_0-9]+", v) or k in {
                          "MISSING", "ALLOWED", "PATTERN", "TYPE"})}
    source = Path(parsing.__file__).read_text(encoding="utf-8")
    rules |= set(re.findall(r'"((?:type|money):[a-z]+)"', source))
    return rules


def test_every_rule_has_a_label() -> None:
    assert _rules_in_code() - set(rule_labels()) == set()


@pytest.mark.parametrize("rule", sorted(rule_labels()))
def test_labels_are_complete_and_speak_to_a_clerk(rule: str) -> None:
    for language in ("zh", "en"):
        explanation, hint = describe(rule, language)  # type: ignore[arg-type]
        assert explanation.strip()
        assert hint.strip()
        for text in (explanation, hint):
            assert "yaml" not in text.lower()
            assert "/" not in text.replace("Excel", "")
    assert re.search(r"[\u4e00-\u9fff]", describe(rule, "zh")[0])


def test_every_coded_value_has_a_label() -> None:
    from schemas.registry import all_contracts
    from schemas.value_labels import label, value_labels

    labels = value_labels()
    # The contract column that holds a code -> the group of values.yaml that labels it.
    groups = {"program": "programs", "kind": "kinds", "unit": "units",
              "employment_status": "statuses", "gender": "genders",
              "relation_to_head": "relations", "special_groups": "special_groups",
              "linked_by": "linked_by"}
    for contract in all_contracts().values():
        departments = [contract.owner] + ([contract.ledger.department] if contract.ledger
                                          else [])
        for department in departments:
            if department != "hub":
                assert department in labels["departments"], department
        for column in contract.columns:
            for code in column.allowed or []:
                assert code in labels[groups[column.name]], (column.name, code)
    for group in labels.values():
        for code, by_language in group.items():
            assert {"zh", "en"} <= set(by_language), code
    assert label("special_groups", "subsistence_allowance") == "低保对象"
    assert label("kinds", "unknown_code") == "unknown_code"
