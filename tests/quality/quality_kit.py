"""Shared constants and types of the quality tests (the fixtures are in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.demo import DemoManifest
from hub.settings import HubSettings

TODAY = date.today()  # freshness is judged against the real date the worker runs on
ORDER = ["grid", "elderly_care", "medical", "employment"]
NEW_PHONE = "13912345670"


@dataclass(frozen=True)
class Planted:
    phone_id: str  # resident whose employment phone now differs from the registry's
    death_id: str  # resident dead in the registry before their elderly-care periods
    community_id: str  # resident whose elderly-care community is another one


@dataclass(frozen=True)
class Loaded:
    settings: HubSettings
    demo: DemoManifest
    planted: Planted
    keys: dict[str, str]  # planted resident id -> pseudonymous resident key
