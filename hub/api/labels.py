"""The optional `labels` block of the resident, household and grid answers: the Chinese (or
English) label of every coded value the document carries, from the labels kept beside the
contracts (schemas/labels/values.yaml), so that a program shows what the console shows.

Asked for with `?labels=zh-CN` (or `zh`, `en`), or by an `Accept-Language` header whose
first language is Chinese or English; without either the answer is exactly as before (and
a caller who sees the published document as it is still gets the stored text untouched).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Query, Request

from schemas.value_labels import Language, label, value_labels

LabelsParam = Annotated[str | None, Query(
    pattern=r"^(zh|zh-CN|en)$", examples=["zh-CN"],
    description="add a `labels` block with the label of every coded value in the answer "
                "(programs, kinds, departments, special groups, relations, findings, and "
                "street, community and grid names where the place table has them): "
                "zh-CN or en; default: the first language of Accept-Language if it is one "
                "of these, else no block")]

# Field name in a document -> label group of its value(s).
FIELD_GROUPS = {"gender": "genders", "special_groups": "special_groups",
                "relation_to_head": "relations", "department": "departments",
                "dataset": "datasets", "program": "programs", "kind": "kinds",
                "unit": "units", "rule_id": "findings", "employment_status": "statuses"}
PLACE_FIELDS = ("street_code", "community_code", "grid_code")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def requested_language(request: Request, asked: str | None) -> Language | None:
    """The language of the labels block, or None for no block."""
    if asked:
        return "en" if asked == "en" else "zh"
    return accepted_language(request.headers.get("accept-language", ""))


def accepted_language(header: str) -> Language | None:
    """The labels' language of an `Accept-Language` header: its first language if Chinese
    or English, else None."""
    first = header.split(",", 1)[0].split(";", 1)[0].strip().lower()
    if first.startswith("zh"):
        return "zh"
    if first.startswith("en"):
        return "en"
    return None


def _collect(value: Any, found: dict[str, set[str]]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect(item, found)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        group = FIELD_GROUPS.get(key)
        if group is not None:
            codes = item if isinstance(item, list) else [item]
            found.setdefault(group, set()).update(
                c for c in codes if isinstance(c, str))
        if key in PLACE_FIELDS and isinstance(item, str):
            found.setdefault("places", set()).add(item)
        if key == "attributes" and isinstance(item, dict):
            found.setdefault("attributes", set()).update(item)
        _collect(item, found)


def labels_block(document: Any, language: Language,
                 places: Mapping[str, str] | None = None) -> dict[str, Any]:
    """{"language": ..., group: {code: label}} for the coded values found in `document`
    that have a label; `places` (code -> name) names street, community and grid codes."""
    found: dict[str, set[str]] = {}
    _collect(document, found)
    known: dict[str, Mapping[str, Any]] = {**value_labels(), "places": places or {}}
    block: dict[str, Any] = {"language": "en" if language == "en" else "zh-CN"}
    for group, codes in sorted(found.items()):
        named = {c: (known["places"][c] if group == "places" else label(group, c, language))
                 for c in sorted(codes) if c in known.get(group, {})}
        if named:
            block[group] = named
    return block


def with_labels(document: dict[str, Any], language: Language | None,
                places: Mapping[str, str] | None = None) -> dict[str, Any]:
    if language is None:
        return document
    return {**document, "labels": labels_block(document, language, places)}


def json_with_labels(body: bytes, language: Language | None,
                     places: Mapping[str, str] | None = None) -> bytes:
    """A JSON object's bytes with the labels block added (unchanged without a language)."""
    if language is None:
        return body
    return _dumps(with_labels(json.loads(body), language, places)).encode("utf-8")
