"""The loops' stores of one process, built on the state store's engine and the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from hub.audit.log import AuditLog
from hub.casework.cases import Cases
from hub.casework.corrections import Corrections
from hub.casework.referrals import Referrals
from hub.casework.sharing import SharingRequests
from hub.casework.steps import Steps
from hub.settings import CaseworkSettings


@dataclass(frozen=True)
class Casework:
    steps: Steps
    corrections: Corrections
    sharing: SharingRequests
    cases: Cases
    referrals: Referrals

    @classmethod
    def open(cls, engine: Engine, audit: AuditLog, settings: CaseworkSettings) -> Casework:
        steps = Steps(engine, audit)
        cases = Cases(steps, settings)
        return cls(steps, Corrections(steps, settings), SharingRequests(steps, settings),
                   cases, Referrals(cases))
