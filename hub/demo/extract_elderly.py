"""Civil affairs' elderly care extract: GBK CSV, one row per resident, program and month.

Covers the 12 full months before the as-of month. Most residents aged 80+ draw an age
allowance, but some are left without one on purpose (a gap the hub should surface). Civil
affairs writes its own community codes ("MZ..."), keeps 15-digit legacy IDs for some older
people and mixes date formats (repairable); some IDs have a wrong check character, some rows
were sent twice (quarantined) and a few community codes are retired ones missing from the
crosswalk (a finding, not a rejection).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from hub.demo import defects as d
from hub.demo.manifest import DatasetManifest, source_path, to_date
from hub.demo.population import Population, age_on, ymd
from hub.demo.textops import (
    as_text,
    constant,
    join,
    replace_at,
    styled_dates,
    take,
    where,
    zfill,
)
from hub.demo.writers import write_csv

FILE_NAME = "elderly_care.csv"
PROGRAMS = ("居家养老", "日间照料", "助餐", "机构养老", "高龄津贴")
HOME, DAY, MEAL, INSTITUTION, ALLOWANCE = range(5)
KINDS = ("现金", "实物", "服务")
CASH, MATERIAL, SERVICE = range(3)
UNITS = ("元", "小时", "餐", "天", "件")
YUAN, HOUR, MEAL_UNIT, DAY_UNIT, ITEM = range(5)
RETIRED_CODES = ("MZ90001", "MZ90007", "MZ90012")  # communities merged away; not in crosswalk
DATE_STYLE_P = [0.6, 0.2, 0.12, 0.08]


def _enrolments(pop: Population, as_of: np.datetime64, first_month: np.datetime64,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One entry per (resident, program): months covered, kind, unit, monthly quantity, price."""
    n = pop.size
    age = age_on(pop.birth, as_of)
    death_idx = (pop.death.astype("datetime64[M]") - first_month).astype(np.int64)
    end = np.where(np.isnat(pop.death), 11, np.minimum(death_idx, 11))
    old = (age >= 60) & (end >= 0)
    disabled, alone = pop.groups["disabled"], pop.household_size[pop.household] == 1
    r = rng.random((5, n))
    institution = old & (age >= 75) & (r[0] < 0.012 + 0.03 * (disabled & (age >= 80)))
    at_home = old & ~institution
    home = at_home & (r[1] < 0.04 + 0.06 * (age >= 80) + 0.05 * disabled + 0.04 * alone)
    day = at_home & (r[2] < 0.025)
    meal = at_home & (r[3] < 0.05 + 0.05 * alone)
    skipped = (age >= 80) & (r[4] < 0.05)  # the planted gap: eligible, never granted
    allowance = old & (age >= 80) & ~skipped
    # Month index (in the window) of each resident's 80th birthday.
    eightieth = (pop.birth.astype("datetime64[M]") - first_month).astype(np.int64) + 960
    service_start = np.where(rng.random(n) < 0.5, 0, rng.integers(1, 12, n))

    parts = []
    for code, mask, start in (
        (HOME, home, service_start), (DAY, day, service_start), (MEAL, meal, service_start),
        (INSTITUTION, institution, service_start),
        (ALLOWANCE, allowance, np.maximum(eightieth, 0)),
    ):
        who = np.flatnonzero(mask)
        parts.append((who, np.full(len(who), code), start[who], end[who]))
    person = np.concatenate([p[0] for p in parts])
    program = np.concatenate([p[1] for p in parts])
    start = np.concatenate([p[2] for p in parts])
    stop = np.concatenate([p[3] for p in parts])
    order = np.lexsort((program, person))
    person, program, start, stop = person[order], program[order], start[order], stop[order]
    m = len(person)
    material = (program == HOME) & (rng.random(m) < 0.2)
    kind = np.select([program == ALLOWANCE, material], [CASH, MATERIAL], SERVICE)
    unit = np.select(
        [program == ALLOWANCE, material, program == HOME, program == MEAL],
        [YUAN, ITEM, HOUR, MEAL_UNIT], DAY_UNIT)
    quantity = np.select(
        [material, program == HOME, program == DAY, program == MEAL],
        [rng.integers(1, 7, m), rng.integers(4, 41, m), rng.integers(4, 23, m),
         rng.integers(10, 61, m)], 0)
    band = np.select([age[person] >= 100, age[person] >= 90], [80000, 50000], 10000)
    price = np.select(  # fen per unit; per month for the allowance and institutions
        [program == ALLOWANCE, program == INSTITUTION, material, program == HOME,
         program == DAY],
        [band, rng.integers(15, 41, m) * 10000, 8000, 5000, 6000], 1000)
    return {"person": person, "program": program, "start": start, "stop": stop,
            "kind": kind, "unit": unit, "quantity": quantity, "price": price,
            "institution": institution, "age": age}


def _mistyped_resident(person: np.ndarray, program: np.ndarray, legacy: np.ndarray,
                       rng: np.random.Generator) -> int:
    """A resident with several care rows and no age allowance (so that the allowance gap the
    manifest counts stays as planted), whose rows will all carry a mistyped ID number."""
    rows = np.bincount(person)
    allowance = np.bincount(person[program == ALLOWANCE], minlength=len(rows)) > 0
    old_id = np.bincount(person[legacy], minlength=len(rows)) > 0
    fit = np.flatnonzero((rows >= 4) & ~allowance & ~old_id)
    return int(rng.choice(fit)) if len(fit) else -1


def write_elderly_care(pop: Population, out_dir: Path, as_of: np.datetime64,
                       rng: np.random.Generator) -> tuple[DatasetManifest, dict[str, int]]:
    first_month = as_of.astype("datetime64[M]") - 12
    e = _enrolments(pop, as_of, first_month, rng)
    months = np.clip(e["stop"] - e["start"] + 1, 0, None)
    rep = np.repeat(np.arange(len(months)), months)
    n = len(rep)
    offset = np.arange(n) - np.concatenate([[0], np.cumsum(months)[:-1]])[rep]
    month = first_month + (e["start"][rep] + offset).astype("timedelta64[M]")
    period_start = month.astype("datetime64[D]")
    period_end = (month + 1).astype("datetime64[D]") - 1
    person, program = e["person"][rep], e["program"][rep]
    days_in_month = (period_end - period_start).astype(np.int64) + 1
    by_month = (program == ALLOWANCE) | (program == INSTITUTION)
    wobble = np.where(by_month, 0, rng.integers(-2, 3, n))
    quantity = np.where(program == INSTITUTION, days_in_month,
                        np.maximum(e["quantity"][rep] + wobble, 1))
    amount = np.where(by_month, e["price"][rep], quantity * e["price"][rep])

    level = np.where(e["age"] >= 80, rng.integers(1, 4, pop.size), rng.integers(0, 3, pop.size))
    level = np.minimum(level + pop.groups["disabled"], 5)
    level = np.where(e["institution"], rng.integers(3, 6, pop.size), level)
    level_text = where(rng.random(pop.size) < 0.1, None, as_text(level))

    plan = d.DefectPlan(n, rng)
    # Legacy numbers belong to people (their record was never upgraded), not to rows.
    legacy_people = rng.random(pop.size) < 0.03
    legacy = legacy_people[person]
    plan.mark("legacy_15_digit_id", None, legacy, exclusive=True)
    id15 = join(zfill(pop.id_area, 6), zfill(ymd(pop.birth) % 1_000_000, 6), zfill(pop.id_seq, 3))
    ids = where(legacy, take(id15, person), take(pop.resident_id, person))
    # One resident's every row carries a mistyped ID (the linkage shows them matched), the
    # other mistyped rows are scattered; a few rows came without any ID number.
    # (Only in an extract large enough that one resident's rows stay a small share of it.)
    mistyped = _mistyped_resident(person, program, legacy, rng) if n >= 1_000 else -1
    scattered = plan.pick("scattered", d.RULE_CHECK, 0.003, person != mistyped)
    bad = np.zeros(n, dtype=bool)
    bad[scattered] = True
    bad |= person == mistyped
    plan.mark("bad_check_char", d.RULE_CHECK, bad, exclusive=True)
    del plan.flags["scattered"], plan.rules["scattered"]
    # A third of the scattered ones are a mistyped birth day: the ambiguous ones a data
    # steward reviews. Either way the check character no longer fits.
    day_typo = scattered[rng.random(len(scattered)) < 1 / 3]
    ids = d.wrong_check_char(ids, np.setdiff1d(np.flatnonzero(bad), day_typo), rng)
    ids = d.wrong_birth_day(ids, day_typo, rng)
    no_id = plan.pick("missing_id", d.RULE_MISSING_ID, 0.001, program != ALLOWANCE)
    ids = replace_at(ids, no_id, pa.nulls(len(no_id), pa.string()))
    community = take(pop.district.community_mz, pop.community[person])
    retired = plan.pick("unmapped_grid_code", None, 0.002)
    community = replace_at(community, retired,
                             take(pa.array(RETIRED_CODES), rng.integers(0, 3, len(retired))))
    style = rng.choice(4, size=n, p=DATE_STYLE_P)
    plan.mark("mixed_date_formats", None, style != 0, exclusive=False)

    cash = e["kind"][rep] == CASH
    table = pa.table({
        "身份证号": ids,
        "姓名": take(pop.name, person),
        "服务项目": take(pa.array(PROGRAMS), program),
        "救助形式": take(pa.array(KINDS), e["kind"][rep]),
        "金额（元）": join(as_text(amount // 100), ".", zfill(amount % 100, 2)),
        "数量": where(cash, None, as_text(quantity)),
        "单位": take(pa.array(UNITS), e["unit"][rep]),
        "开始日期": styled_dates(period_start, style),
        "结束日期": styled_dates(period_end, style),
        "护理等级": take(level_text, person),
        "是否独居": where((pop.household_size[pop.household] == 1)[person], "是", "否"),
        "社区编码": community,
        "数据日期": constant(str(as_of), n),
    })
    table = table.take(pa.array(plan.duplicate(0.002)))
    path = out_dir / FILE_NAME
    write_csv(table, path, "gbk", eol="\r\n")

    alive = np.isnat(pop.death) | (pop.death > as_of)
    granted = np.zeros(pop.size, dtype=bool)
    granted[person[program == ALLOWANCE]] = True
    gap = int((alive & (e["age"] >= 80) & ~granted).sum())
    manifest = DatasetManifest(
        dataset="elderly_care", extract=path, source=source_path("elderly_care"),
        rows=table.num_rows, as_of=to_date(as_of), format="csv", encoding="gbk",
        defects=plan.counts())
    return manifest, {"aged_80_without_age_allowance": gap}
