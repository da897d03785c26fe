"""Audit records in words an auditor reads: each action and outcome code with its label.

Actions of the loops (`case.accept`, `correction.escalate`, ...) are labelled from the loops'
own vocabulary (hub/casework/vocabulary.yaml), the rest from schemas/labels/values.yaml; an
administrative change names where it was made (`console.admin.user.create`: the console).
A code without a label shows as itself, so a record is never hidden by a missing word.
"""

from __future__ import annotations

from hub.casework.vocabulary import term, vocabulary
from schemas.value_labels import Language, label, value_labels

_ADMIN_PREFIXES = ("console.admin.", "cli.admin.")


def _known(group: str, code: str) -> bool:
    return code in value_labels().get(group, {})


def action_label(code: str, language: Language = "zh") -> str:
    if _known("audit_actions", code):
        return label("audit_actions", code, language)
    for prefix in _ADMIN_PREFIXES:
        if code.startswith(prefix) and _known("audit_actions", code[len(prefix):]):
            return (f"{label('audit_actions', prefix[:-1], language)}："
                    f"{label('audit_actions', code[len(prefix):], language)}")
    kind, _, step = code.partition(".")
    if kind in vocabulary().get("kinds", {}):
        words = (term("steps", step, language) if step in vocabulary().get("steps", {})
                 else label("audit_actions", step, language))
        return f"{term('kinds', kind, language)}·{words}"
    return code


def outcome_label(code: str, language: Language = "zh") -> str:
    """`refused:<reason>` reads as the refusal and its reason."""
    if _known("audit_outcomes", code):
        return label("audit_outcomes", code, language)
    head, _, reason = code.partition(":")
    if reason and _known("audit_outcomes", head):
        because = label("audit_outcomes", reason, language)
        return f"{label('audit_outcomes', head, language)}（{because}）"
    return code
