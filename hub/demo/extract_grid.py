"""The grid management centre's resident registry: UTF-8 CSV, one row per resident.

Hand-kept registers mix date formats, and IDs and phones arrive with full-width digits,
lower-case x and spaces (all repairable); some IDs have a wrong check character, some rows
were entered twice and some phones are not numbers at all (all quarantined).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from hub.demo import defects as d
from hub.demo.manifest import DatasetManifest, source_path, to_date
from hub.demo.population import GROUP_LABELS, RELATION_LABELS, Population
from hub.demo.textops import constant, iso_dates, styled_dates, tags, take, where
from hub.demo.writers import write_csv

FILE_NAME = "grid.csv"
DATE_STYLE_P = [0.55, 0.2, 0.15, 0.1]  # iso, 1950/3/2, 19500302, 1950年3月2日


def write_grid(pop: Population, out_dir: Path, as_of: np.datetime64,
               rng: np.random.Generator) -> DatasetManifest:
    n = pop.size
    plan = d.DefectPlan(n, rng)
    ids = pop.resident_id
    # Repairable first, each on rows of its own.
    ids = d.lower_x(ids, plan.pick("lowercase_x", None, 0.01, d.ends_with_x(ids)))
    ids = d.fullwidth(ids, plan.pick("fullwidth_id", None, 0.004))
    ids = d.spaced_id(ids, plan.pick("id_spaces", None, 0.003))
    phone = pop.phone
    has_phone = np.asarray(phone.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    phone = d.fullwidth(phone, plan.pick("fullwidth_phone", None, 0.004, has_phone))
    ids = d.wrong_check_char(ids, plan.pick("bad_check_char", d.RULE_CHECK, 0.003), rng)
    phone = d.broken_phone(
        phone, plan.pick("invalid_phone", d.RULE_PHONE, 0.003, d.is_mobile(phone)), rng)

    style = rng.choice(4, size=n, p=DATE_STYLE_P)
    plan.mark("mixed_date_formats", None, style != 0, exclusive=False)

    hh = pop.household
    labels = {GROUP_LABELS[k]: v for k, v in pop.groups.items()}
    table = pa.table({
        "身份证号": ids,
        "姓名": pop.name,
        "性别": where(pop.male, "男", "女"),
        "出生日期": styled_dates(pop.birth, style),
        "联系电话": phone,
        "住址": take(pop.address, hh),
        "户编号": take(pop.household_ids, hh),
        "与户主关系": take(pa.array(RELATION_LABELS), pop.relation),
        "网格编码": take(pop.district.grid_codes, pop.grid),
        "特殊人群": tags(labels, "、"),
        "死亡日期": iso_dates(pop.death),
        "数据日期": constant(str(as_of), n),
    })
    rows = plan.duplicate(0.002)
    table = table.take(pa.array(rows))
    path = out_dir / FILE_NAME
    write_csv(table, path, "utf-8")
    return DatasetManifest(
        dataset="grid", extract=path, source=source_path("grid"), rows=table.num_rows,
        as_of=to_date(as_of), format="csv", encoding="utf-8", defects=plan.counts())
