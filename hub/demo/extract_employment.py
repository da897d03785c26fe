"""Human resources' employment extract: JSON Lines with the department's pinyin keys.

One status row per registered working-age resident (program 无), plus a row per month of
unemployment insurance or public-welfare post and one per training subsidy. Amounts are in
fen, dates YYYYMMDD, service areas in HR's own "RS-" scheme. This extract is the stale one:
its as-of date lies ~100 days back although the contract promises monthly updates. Some
unemployed residents registered 6+ months ago get no benefit or training (a planted gap);
a few rows carry status codes the source YAML does not know, or retired service-area codes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from hub.demo import defects as d
from hub.demo.manifest import DatasetManifest, source_path, to_date
from hub.demo.population import Population, age_on
from hub.demo.textops import as_text, compact_dates, constant, replace_at, take, where
from hub.demo.writers import write_jsonl

FILE_NAME = "employment.jsonl"
# employed, flexible, unemployed, retired, student, other
STATUS_CODES = ("11", "12", "21", "31", "41", "90")
UNEMPLOYED = 2
UNMAPPED_STATUS = ("19", "29", "99")  # codes introduced by HR and never announced
STATUS_P = {  # by age band: 16-22, 23-54, 55-64
    0: [0.30, 0.10, 0.10, 0.00, 0.50, 0.00],
    1: [0.62, 0.16, 0.17, 0.00, 0.00, 0.05],
    2: [0.30, 0.10, 0.10, 0.45, 0.00, 0.05],
}
PROGRAMS = ("无", "失业保险金", "职业培训补贴", "公益性岗位补贴")
NONE, INSURANCE, TRAINING, WELFARE = range(4)
RETIRED_AREAS = ("RS-00-0031", "RS-00-0047")
SIX_MONTHS = np.timedelta64(183, "D")


def _people(pop: Population, as_of: np.datetime64,
            rng: np.random.Generator) -> dict[str, np.ndarray]:
    age = age_on(pop.birth, as_of)
    alive = np.isnat(pop.death) | (pop.death > as_of)
    who = np.flatnonzero(alive & (age >= 16) & (age <= 64) & (rng.random(pop.size) < 0.3))
    m, a = len(who), age[who]
    band = np.select([a <= 22, a <= 54], [0, 1], 2)
    cumulative = np.cumsum(np.array([STATUS_P[b] for b in range(3)]), axis=1)[band]
    status = np.minimum((rng.random(m)[:, None] > cumulative).sum(axis=1), 5)
    unemployed = status == UNEMPLOYED
    registered = as_of - rng.integers(15, 721, m).astype("timedelta64[D]")
    since = np.where(unemployed, registered,
                     as_of - rng.integers(30, 3001, m).astype("timedelta64[D]"))
    as_of_month = as_of.astype("datetime64[M]")
    first_paid = registered.astype("datetime64[M]") + 1
    months_open = (as_of_month - first_paid).astype(np.int64)  # full months before as-of month
    insured = unemployed & (rng.random(m) < 0.55)
    training_start = registered + rng.integers(20, 201, m).astype("timedelta64[D]")
    trained = unemployed & (rng.random(m) < 0.25) & (training_start <= as_of - 40)
    posted = unemployed & (rng.random(m) < 0.08)
    counts = np.stack([
        np.ones(m, dtype=np.int64),
        np.where(insured, np.clip(months_open, 0, 12), 0),
        trained.astype(np.int64),
        np.where(posted, np.clip(months_open - 1, 0, 6), 0),
    ], axis=1)
    return {"who": who, "status": status, "registered": registered, "since": since,
            "first_paid": first_paid, "training_start": training_start, "counts": counts,
            "benefit": rng.integers(200, 231, m) * 1000,
            "training_fee": rng.integers(10, 31, m) * 10000,
            "training_days": rng.integers(20, 41, m)}


def write_employment(pop: Population, out_dir: Path, as_of: np.datetime64,
                     rng: np.random.Generator) -> tuple[DatasetManifest, dict[str, int]]:
    p = _people(pop, as_of, rng)
    flat = p["counts"].ravel()
    pair = np.repeat(np.arange(flat.size), flat)
    rank = np.arange(pair.size) - np.concatenate([[0], np.cumsum(flat)[:-1]])[pair]
    local, program = pair // 4, pair % 4
    n, person = pair.size, p["who"][local]
    month = p["first_paid"][local] + np.where(program == WELFARE, rank + 1, rank).astype(
        "timedelta64[M]")
    month_start = month.astype("datetime64[D]")
    month_end = (month + 1).astype("datetime64[D]") - 1
    train_start = p["training_start"][local]
    start = np.select([program == NONE, program == TRAINING],
                      [p["since"][local], train_start], month_start)
    end = np.select(
        [program == NONE, program == TRAINING],
        [np.full(n, as_of), train_start + p["training_days"][local].astype("timedelta64[D]")],
        month_end)
    amount = np.select([program == INSURANCE, program == TRAINING, program == WELFARE],
                       [p["benefit"][local], p["training_fee"][local], 250_000], -1)

    supported = p["counts"][:, 1:].sum(axis=1) > 0
    gap = (p["status"] == UNEMPLOYED) & (p["registered"] <= as_of - SIX_MONTHS) & ~supported

    plan = d.DefectPlan(n, rng)
    # Keep the gap's residents readable: an unknown status would hide them from the hub.
    odd = plan.pick("unmapped_status_code", d.RULE_UNMAPPED, 0.003, ~gap[local])
    status = take(pa.array(STATUS_CODES), p["status"][local])
    status = replace_at(status, odd, take(pa.array(UNMAPPED_STATUS),
                                          rng.integers(0, len(UNMAPPED_STATUS), len(odd))))
    retired = plan.pick("unmapped_grid_code", None, 0.002)
    area = take(pop.district.grid_rs, pop.grid[person])
    area = replace_at(area, retired, take(pa.array(RETIRED_AREAS),
                                          rng.integers(0, len(RETIRED_AREAS), len(retired))))
    unemployed_row = p["status"][local] == UNEMPLOYED
    columns: dict[str, tuple[pa.Array, bool]] = {
        "zjhm": (take(pop.resident_id, person), True),
        "xm": (take(pop.name, person), True),
        "lxdh": (take(pop.phone, person), True),
        "jyzt": (status, True),
        "sydjrq": (where(unemployed_row, compact_dates(p["registered"][local]), None), True),
        "xmlb": (take(pa.array(PROGRAMS), program), True),
        "jzxs": (where(program == NONE, None, "现金"), True),
        "je_fen": (where(amount < 0, None, as_text(np.maximum(amount, 0))), False),
        "ksrq": (compact_dates(start), True),
        "jsrq": (compact_dates(end), True),
        "fwqy": (area, True),
        "sjrq": (constant(str(as_of).replace("-", ""), n), True),
    }
    path = out_dir / FILE_NAME
    write_jsonl(columns, path)
    manifest = DatasetManifest(
        dataset="employment", extract=path, source=source_path("employment"), rows=n,
        as_of=to_date(as_of), format="jsonl", encoding="utf-8", defects=plan.counts())
    return manifest, {"unemployed_6m_without_support": int(gap.sum())}
