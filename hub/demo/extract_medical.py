"""Health / medical security extract: an XLSX whose ID column Excel turned into numbers.

A city's extract outgrows one worksheet (1,048,576 rows): the department then saves the same
sheet as UTF-8 CSV, whose ID cells carry the same damage, read through the CSV form of its
source (connectors/sources/variants/medical_csv.yaml).

About 8% of residents (more of the old) with several rows each: outpatient visits,
reimbursements, medical assistance for the poor and disabled, family-doctor contracts.
Amounts are in fen. IDs are numeric cells: exact integers (the reader must turn them back into
text), 17-digit integers where the trailing X was lost (the hub restores it), and a few
cells holding the text Excel displays, "1.10105E+17" (unrecoverable). A few diagnosis codes
are free text or mistyped and break the ICD-10 pattern.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.demo import defects as d
from hub.demo.manifest import SOURCES_DIR, DatasetManifest, source_path, to_date
from hub.demo.population import Population, age_on
from hub.demo.textops import as_text, constant, iso_dates, join, replace_at, take, where
from hub.demo.writers import write_csv
from hub.demo.xlsx import write_xlsx

FILE_NAME = "medical.xlsx"
CSV_NAME = "medical.csv"
CSV_SOURCE = SOURCES_DIR / "variants" / "medical_csv.yaml"
SHEET_ROWS = 1_048_576  # an Excel worksheet's rows, the header row included
HEADERS = ["身份证号", "姓名", "业务类型", "救助形式", "金额（分）", "诊断编码", "慢性病",
           "家庭医生签约", "开始日期", "结束日期", "数据日期"]
PROGRAMS = ("医疗救助", "报销", "家庭医生签约", "门诊")
ASSIST, REIMBURSE, DOCTOR, VISIT = range(4)
CHRONIC_CODES = ("I10", "E11.9", "J44.1", "I25.1", "I63.9", "N18.3", "M81.0", "E78.5")
ACUTE_CODES = ("J06.9", "J20.9", "K29.7", "M54.5", "R51", "A09", "H10.9", "L30.9", "S93.4")
MALFORMED_CODES = ("高血压", "I1O", "E11..9", "J44,1", "糖尿病")
SHARE = 0.08


def _rows(pop: Population, as_of: np.datetime64,
          rng: np.random.Generator) -> dict[str, np.ndarray]:
    age = age_on(pop.birth, as_of)
    alive = np.isnat(pop.death) | (pop.death > as_of)
    weight = np.select([age >= 80, age >= 60, age >= 18], [0.25, 0.15, 0.05], 0.03)
    weight = np.minimum(weight * SHARE / weight.mean(), 0.9)
    who = np.flatnonzero(alive & (rng.random(pop.size) < weight))
    m, old = len(who), age[who] >= 60
    chronic = rng.random(m) < np.where(old, 0.55, 0.15)
    doctor = rng.random(m) < np.where(chronic & old, 0.7, 0.3)
    g = pop.groups
    poor = (g["subsistence_allowance"] | g["extreme_poverty"] | g["disabled"])[who]
    counts = np.stack([
        np.where(poor & (rng.random(m) < 0.6), rng.integers(1, 3, m), 0),  # ASSIST
        rng.integers(0, 3, m),  # REIMBURSE
        doctor.astype(np.int64),  # DOCTOR
        rng.integers(1, 4, m),  # VISIT
    ], axis=1)  # (m, 4): rows per person and program, person-major like the department's
    flat = counts.ravel()
    pair = np.repeat(np.arange(flat.size), flat)
    rank = np.arange(pair.size) - np.concatenate([[0], np.cumsum(flat)[:-1]])[pair]
    local, program = pair // 4, pair % 4
    n = pair.size
    # Each further row of a person and program lies in its own 150-day band: keys stay unique.
    day = as_of - (1 + rank * 150 + rng.integers(0, 150, n)).astype("timedelta64[D]")
    signed = as_of - rng.integers(0, 365, n).astype("timedelta64[D]")
    start = np.where(program == DOCTOR, signed, day)
    end = np.where(program == DOCTOR, signed + np.timedelta64(364, "D"), day)
    amount = np.select(
        [program == ASSIST, program == REIMBURSE, program == VISIT],
        [rng.integers(50_000, 3_000_000, n), rng.integers(2_000, 300_000, n),
         rng.integers(5_000, 80_000, n)], -1)
    own_code = rng.integers(0, len(CHRONIC_CODES), m)[local]
    use_own = chronic[local] & (rng.random(n) < 0.7)
    return {"person": who[local], "program": program, "start": start, "end": end,
            "amount": amount, "chronic": chronic[local], "doctor": doctor[local],
            "chronic_code": own_code, "use_own": use_own,
            "acute_code": rng.integers(0, len(ACUTE_CODES), n)}


def write_medical(pop: Population, out_dir: Path, as_of: np.datetime64,
                  rng: np.random.Generator, sheet_rows: int = SHEET_ROWS) -> DatasetManifest:
    """The workbook, or the same cells as CSV when they do not fit `sheet_rows` rows."""
    r = _rows(pop, as_of, rng)
    n, person, program = len(r["person"]), r["person"], r["program"]
    ids = take(pop.resident_id, person)
    diagnosis = where(r["use_own"], take(pa.array(CHRONIC_CODES), r["chronic_code"]),
                      take(pa.array(ACUTE_CODES), r["acute_code"]))
    diagnosis = where(program == DOCTOR, None, diagnosis)

    plan = d.DefectPlan(n, rng)
    sci = plan.pick("id_scientific_notation", d.RULE_EXCEL, 0.003)
    has_code = np.asarray(diagnosis.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    bad = plan.pick("bad_diagnosis_code", d.RULE_PATTERN, 0.003, has_code)
    diagnosis = replace_at(diagnosis, bad, take(pa.array(MALFORMED_CODES),
                                                rng.integers(0, len(MALFORMED_CODES), len(bad))))
    x = d.ends_with_x(ids)
    is_sci = np.zeros(n, dtype=bool)
    is_sci[sci] = True
    plan.mark("check_x_lost", None, x & ~is_sci, exclusive=False)
    plan.mark("id_as_number", None, ~x & ~is_sci, exclusive=False)
    # What Excel shows for an 18-digit number in General format: 6 significant digits.
    sub = take(ids, sci)
    shown = join(pc.utf8_slice_codeunits(sub, 0, 1), ".",
                 pc.utf8_rtrim(pc.utf8_slice_codeunits(sub, 1, 6), characters="0"), "E+17")
    id_cells = where(x, pc.utf8_slice_codeunits(ids, 0, 17), ids)
    id_cells = replace_at(id_cells, sci, shown)

    yes_no = pa.array(["否", "是"])
    amount = r["amount"]
    cells: list[tuple[pa.Array, bool | pa.Array]] = [
        (id_cells, pa.array(~is_sci)),
        (take(pop.name, person), False),
        (take(pa.array(PROGRAMS), program), False),
        (take(pa.array(["现金", "现金", "服务", "服务"]), program), False),
        (where(amount < 0, None, as_text(np.maximum(amount, 0))), True),
        (diagnosis, False),
        (take(yes_no, r["chronic"].astype(np.int64)), False),
        (take(yes_no, r["doctor"].astype(np.int64)), False),
        (iso_dates(r["start"]), False),
        (iso_dates(r["end"]), False),
        (constant(str(as_of), n), False),
    ]
    if n + 1 <= sheet_rows:
        path, source, form = out_dir / FILE_NAME, source_path("medical"), "xlsx"
        write_xlsx(HEADERS, cells, path, sheet="医保数据")
    else:
        path, source, form = out_dir / CSV_NAME, CSV_SOURCE, "csv"
        write_csv(pa.table([values for values, _ in cells], names=HEADERS), path,
                  quoting="needed")
    return DatasetManifest(
        dataset="medical", extract=path, source=source, rows=n,
        as_of=to_date(as_of), format=form, encoding="utf-8", defects=plan.counts())
