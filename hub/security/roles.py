"""Roles and the authenticated caller (`Principal`) every access decision is made about."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    # scope: 9-digit street codes (6 county + 3 street); residents and grids inside them
    STREET_OFFICE = "street_office"
    # scope: dataset names; uploads, its own batches and their quality
    DEPARTMENT = "department"
    # scope: empty or ("*",); catalog, quality and the audit log, never resident-level data
    AUDITOR = "auditor"
    # scope: empty or ("*",); everything, including restricted fields
    ADMIN = "admin"
    # scope: dataset names; safe releases (de-identified extracts) of those datasets only
    RESEARCHER = "researcher"


@dataclass(frozen=True)
class Principal:
    token_id: str
    name: str
    role: Role
    scope: tuple[str, ...]

    @property
    def actor(self) -> str:
        """How the caller is named in the audit log: token id and its label."""
        return f"{self.token_id}:{self.name}"
