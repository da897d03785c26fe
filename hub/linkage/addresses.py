"""Addresses reduced to what identifies a dwelling: road, number, building, unit, room.

Departments write one address many ways: with or without the province, city and district
(北京市朝阳区…), with full-width digits, 號 for 号, 栋 / 幢 / 座 / 号楼 for a building,
"3-2-401" for building-unit-room. The normal form drops the administrative prefix, unifies
the markers, and keeps the dwelling key (building-unit-room digits) apart, so that a
comparison can tell "same flat" from "same building" from "same road".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from hub.linkage.names import to_simplified

# Administrative prefixes, longest first: a province, a city, a district or county, a street.
_ADMIN = re.compile(
    r"^(?:[\u4e00-\u9fff]{2,8}?(?:省|自治区|特别行政区))?"
    r"(?:[\u4e00-\u9fff]{2,8}?(?:市|自治州|地区|盟))?"
    r"(?:[\u4e00-\u9fff]{1,8}?(?:区|县|旗))?"
    r"(?:[\u4e00-\u9fff]{2,8}?(?:街道|镇|乡))?"
)
_BUILDING = re.compile(r"(?:号楼|栋|幢|座|楼(?=\d))")
_UNIT = re.compile(r"(?:单元|门)")
_ROOM = re.compile(r"(?:室|号房|户)$")
# 12号楼3单元401室 after unification: road … 12栋3单元401
_DWELLING = re.compile(r"(\d+)栋(?:(\d+)单元)?(\d+)?$")
_DASHED = re.compile(r"(\d+)-(\d+)-(\d+)$")
_NUMBER = re.compile(r"^(.*?\D)(\d+)号")


@dataclass(frozen=True)
class AddressForms:
    normal: str | None
    """The address without administrative prefix, markers unified, digits half-width."""
    road: str | None
    """Road and door number (朝阳路12号): households on it share this."""
    dwelling: str | None
    """Building-unit-room digits (12-3-401), or None when the address has no flat."""


EMPTY = AddressForms(None, None, None)


def address_forms(raw: object) -> AddressForms:
    if not isinstance(raw, str):
        return EMPTY
    text = to_simplified(unicodedata.normalize("NFKC", raw))
    text = re.sub(r"\s+", "", text).replace("—", "-").replace("－", "-")
    text = _ADMIN.sub("", text, count=1)
    text = _ROOM.sub("", text)
    text = _UNIT.sub("单元", _BUILDING.sub("栋", text))
    if not text:
        return EMPTY
    road_match = _NUMBER.match(text)
    road = road_match.group(1) + road_match.group(2) + "号" if road_match else None
    dwelling = None
    if (m := _DWELLING.search(text)) is not None:
        dwelling = "-".join(part for part in m.groups() if part)
    elif (m := _DASHED.search(text)) is not None:
        dwelling = "-".join(m.groups())
        text = text[: m.start()] + f"{m.group(1)}栋{m.group(2)}单元{m.group(3)}"
    return AddressForms(normal=text, road=road, dwelling=dwelling)
