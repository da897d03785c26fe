"""Overlap and missed-benefit rules: loaded from YAML (hub/rules/) and compiled to SQL.

Rules are data. A missed-benefit rule is a list of conditions from a small vocabulary
(documented at the top of hub/rules/missed_benefits.yaml), each compiled to one SQL
predicate over the per-resident attribute relation `residents` and the ledger relation
`ledger`; the rule holds where all predicates hold. An overlap rule names two program sets and
compiles to a self-join of the ledger on the resident with overlapping periods. Rule files are
validated when loaded: an unknown attribute, group, dataset or program is an error naming
the rule, not a rule that silently never fires.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import HubError
from schemas.registry import source_contracts

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
_ID = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]

# Resident attributes a rule may test, with their SQL types (columns of `residents`).
ATTRIBUTES: dict[str, str] = {
    "gender": "VARCHAR",
    "living_alone": "BOOLEAN",
    "care_level": "INTEGER",
    "chronic_condition": "BOOLEAN",
    "family_doctor_contract": "BOOLEAN",
    "employment_status": "VARCHAR",
    "unemployment_registered_on": "DATE",
}
DATE_ATTRIBUTES = {k for k, v in ATTRIBUTES.items() if v == "DATE"}


class RulesInvalid(HubError):
    """A shipped rule file that cannot be used: server configuration, not the caller's."""

    def __init__(self, path: str, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(f"rule file {path}: {detail}; fix the file (hub/rules/*.yaml)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgeAtLeast(_Strict):
    years: int
    at: str = "today"


class InGroup(_Strict):
    group: str
    of: Literal["resident", "household"] = "resident"


class AttributeEquals(_Strict):
    name: str
    equals: bool | int | str


class DaysSince(_Strict):
    name: str
    at_least: int
    at: str = "today"


class Programs(_Strict):
    programs: list[str]
    within_days: int | None = None
    at: str = "today"


class Condition(_Strict):
    age_at_least: AgeAtLeast | None = None
    alive_on: str | None = None
    in_group: InGroup | None = None
    attribute: AttributeEquals | None = None
    days_since: DaysSince | None = None
    has_program: Programs | None = None
    lacks_program: Programs | None = None
    any_of: list[Condition] | None = None

    @model_validator(mode="after")
    def _one(self) -> Condition:
        if sum(v is not None for v in self.__dict__.values()) != 1:
            raise ValueError("each condition has exactly one key")
        return self


class MissedBenefitRule(_Strict):
    id: _ID
    description: str
    when: list[Condition]


class OverlapRule(_Strict):
    id: _ID
    description: str
    need: str = ""
    a: list[str]
    b: list[str]
    min_days: int = 1


def _programs() -> dict[str, set[str]]:
    """dataset -> program codes of the contracts with a ledger mapping."""
    out: dict[str, set[str]] = {}
    for contract in source_contracts().values():
        if contract.ledger is None:
            continue
        allowed = contract.column(contract.ledger.program).allowed or []
        out[contract.name] = set(allowed) - set(contract.ledger.exclude_programs)
    return out


def _groups() -> set[str]:
    return set(source_contracts()["grid"].column("special_groups").allowed or [])


def _check_programs(rule: str, items: list[str]) -> None:
    known = _programs()
    for item in items:
        dataset, _, program = item.partition("/")
        if program not in known.get(dataset, set()):
            raise ValueError(f"rule {rule}: {item} is not a ledger program (dataset/program)")


def _check_date(rule: str, on: str) -> None:
    if on != "today" and on not in source_contracts():
        raise ValueError(f"rule {rule}: date '{on}' is neither today nor a dataset")


def _check_condition(rule: str, c: Condition) -> None:
    if c.age_at_least:
        _check_date(rule, c.age_at_least.at)
    if c.alive_on:
        _check_date(rule, c.alive_on)
    if c.in_group and c.in_group.group not in _groups():
        raise ValueError(f"rule {rule}: unknown special group {c.in_group.group}")
    if c.attribute and c.attribute.name not in ATTRIBUTES:
        raise ValueError(f"rule {rule}: unknown attribute {c.attribute.name}")
    if c.days_since:
        if c.days_since.name not in DATE_ATTRIBUTES:
            raise ValueError(f"rule {rule}: {c.days_since.name} is not a date attribute")
        _check_date(rule, c.days_since.at)
    for p in (c.has_program, c.lacks_program):
        if p:
            _check_programs(rule, p.programs)
            _check_date(rule, p.at)
    for nested in c.any_of or []:
        _check_condition(rule, nested)


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesInvalid(str(path), f"cannot read ({exc.__class__.__name__})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
        raise RulesInvalid(str(path), "top level must be a mapping with a `rules` list")
    return raw["rules"]


def load_missed_benefit_rules(path: Path | None = None) -> list[MissedBenefitRule]:
    path = path or RULES_DIR / "missed_benefits.yaml"
    try:
        rules = [MissedBenefitRule.model_validate(r) for r in _load(path)]
        for rule in rules:
            for c in rule.when:
                _check_condition(rule.id, c)
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, RulesInvalid):
            raise
        raise RulesInvalid(str(path), str(exc).replace("\n", "; ")) from exc
    _unique(path, [r.id for r in rules])
    return rules


def load_overlap_rules(path: Path | None = None) -> list[OverlapRule]:
    path = path or RULES_DIR / "overlaps.yaml"
    try:
        rules = [OverlapRule.model_validate(r) for r in _load(path)]
        for rule in rules:
            _check_programs(rule.id, rule.a + rule.b)
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, RulesInvalid):
            raise
        raise RulesInvalid(str(path), str(exc).replace("\n", "; ")) from exc
    _unique(path, [r.id for r in rules])
    return rules


def _unique(path: Path, ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise RulesInvalid(str(path), "rule ids must be unique")


# --- compilation ---------------------------------------------------------------------------

def _lit(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _date(on: str, dates: dict[str, date | None]) -> str:
    value = dates.get(on)
    # A dataset with no current batch: a typed NULL (a bare one leaves year() ambiguous), so
    # the rule cannot hold and the rest of the views still publish.
    return _lit(value) if value is not None else "CAST(NULL AS DATE)"


def _program_pairs(items: list[str]) -> str:
    return ", ".join(f"({_lit(d)}, {_lit(p)})" for d, _, p in (i.partition("/") for i in items))


def _has_program(p: Programs, dates: dict[str, date | None]) -> str:
    window = ""
    if p.within_days is not None:
        on = _date(p.at, dates)
        window = (f" AND l.period_end >= {on} - INTERVAL {int(p.within_days)} DAY"
                  f" AND l.period_start <= {on}")
    return (f"EXISTS (SELECT 1 FROM ledger l WHERE l.resident_key = r.resident_key "
            f"AND (l.source_dataset, l.program) IN ({_program_pairs(p.programs)}){window})")


def compile_condition(c: Condition, dates: dict[str, date | None]) -> str:
    if c.age_at_least:
        on = _date(c.age_at_least.at, dates)
        return (f"coalesce(date_sub('year', r.birth_date, {on}), "
                f"year({on}) - r.birth_year - 1) >= {int(c.age_at_least.years)}")
    if c.alive_on:
        return f"(r.date_of_death IS NULL OR r.date_of_death > {_date(c.alive_on, dates)})"
    if c.in_group:
        column = "r.special_groups" if c.in_group.of == "resident" else "r.household_groups"
        return f"list_contains(coalesce({column}, []), {_lit(c.in_group.group)})"
    if c.attribute:
        return f"coalesce(r.\"{c.attribute.name}\" = {_lit(c.attribute.equals)}, FALSE)"
    if c.days_since:
        on = _date(c.days_since.at, dates)
        return (f"r.\"{c.days_since.name}\" <= {on} - INTERVAL "
                f"{int(c.days_since.at_least)} DAY")
    if c.has_program:
        return _has_program(c.has_program, dates)
    if c.lacks_program:
        return "NOT " + _has_program(c.lacks_program, dates)
    nested = [compile_condition(n, dates) for n in c.any_of or []]
    return "(" + " OR ".join(f"({n})" for n in nested) + ")" if nested else "FALSE"


def missed_benefit_sql(rules: list[MissedBenefitRule], dates: dict[str, date | None]) -> str:
    """(resident_key, rule_id) for every rule that holds; one SELECT per rule, UNION ALL."""
    parts = []
    for rule in rules:
        where = " AND ".join(f"({compile_condition(c, dates)})" for c in rule.when) or "TRUE"
        parts.append(f"SELECT r.resident_key, {_lit(rule.id)} AS rule_id "
                     f"FROM residents r WHERE {where}")
    empty = "SELECT CAST(NULL AS VARCHAR) AS resident_key, CAST(NULL AS VARCHAR) AS rule_id " \
            "WHERE FALSE"
    return " UNION ALL ".join(parts) if parts else empty


def overlap_sql(rules: list[OverlapRule]) -> str:
    """One row per (rule, resident, fact a, fact b) with overlapping periods."""
    parts = []
    for rule in rules:
        parts.append(f"""
            SELECT {_lit(rule.id)} AS rule_id, a.resident_key,
                   a.fact_id AS a_fact, b.fact_id AS b_fact
            FROM ledger a JOIN ledger b
              ON a.resident_key = b.resident_key AND a.fact_id <> b.fact_id
             AND least(a.period_end, b.period_end) - greatest(a.period_start, b.period_start)
                 + 1 >= {int(rule.min_days)}
            WHERE (a.source_dataset, a.program) IN ({_program_pairs(rule.a)})
              AND (b.source_dataset, b.program) IN ({_program_pairs(rule.b)})""")
    empty = ("SELECT CAST(NULL AS VARCHAR) AS rule_id, CAST(NULL AS VARCHAR) AS resident_key, "
             "CAST(NULL AS BIGINT) AS a_fact, CAST(NULL AS BIGINT) AS b_fact WHERE FALSE")
    return " UNION ALL ".join(parts) if parts else empty


@cache
def default_rules() -> tuple[list[MissedBenefitRule], list[OverlapRule]]:
    return load_missed_benefit_rules(), load_overlap_rules()
