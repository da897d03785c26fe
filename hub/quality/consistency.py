"""Cross-department consistency: one resident, two departments, conflicting facts.

Each check compares the data of each dataset in use (hub.ledger.current: a snapshot and the
deltas on top of it; what every department says today) and yields findings naming the kind,
the datasets and departments involved and the pseudonymous resident key, so the owners can
correct it at source. Findings never carry a
value: not the phone, not the community, not which way a sensitive flag points.

Kinds:
- living_alone: civil affairs' living-alone flag vs the grid's elderly_living_alone group;
- death_before_benefit: a period in another dataset starts after the registry's date of death;
- community: the community a department's grid code maps to (through ref.grid_crosswalk)
  differs from the registry's community (checked only when the crosswalk is loaded);
- phone: the vault holds different phone ciphertexts for the resident from two datasets.
  Deterministic AES-SIV is bound to (field, resident key), so equal phones of one resident
  encrypt equally and unequal ciphertexts mean unequal phones, without decrypting anything;
- registry_duplicate: the grid registry holds the resident twice, under two ID numbers
  (the pipeline worker's linkage found the pair: linkage.registry_duplicates). The grid
  centre corrects it at source; the hub merges nothing.
"""

from __future__ import annotations

from typing import Any

import duckdb

from hub.ledger.current import current_rows_sql
from hub.quality.runner import crosswalk_available, current_crosswalk_sql
from schemas.spec import ContractSpec

KINDS = ("living_alone", "death_before_benefit", "community", "phone", "registry_duplicate")
REGISTRY = "grid"


def latest_batches(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """dataset -> {batch_id, department, as_of} of its latest loaded batch."""
    rows = con.execute(
        "SELECT dataset, batch_id, department, CAST(as_of AS VARCHAR) FROM meta.batches "
        "WHERE outcome = 'loaded' "
        "QUALIFY row_number() OVER (PARTITION BY dataset "
        "                           ORDER BY as_of DESC NULLS LAST, finished_at DESC) = 1"
    ).fetchall()
    return {d: {"batch_id": b, "department": dep, "as_of": a} for d, b, dep, a in rows}


def _finding(kind: str, key: str, datasets: list[str], latest: dict[str, dict[str, Any]],
             detail: str) -> dict[str, Any]:
    return {"kind": kind, "resident_key": key, "datasets": sorted(datasets),
            "departments": sorted({latest[d]["department"] for d in datasets}),
            "detail": detail}


def _living_alone(con: duckdb.DuckDBPyConnection, latest: dict[str, dict[str, Any]]
                  ) -> list[dict[str, Any]]:
    if "elderly_care" not in latest or REGISTRY not in latest:
        return []
    rows = con.execute(
        f"""WITH e AS (SELECT resident_key, arg_max(living_alone, period_start) AS alone
                       FROM ({current_rows_sql("elderly_care")})
                       WHERE living_alone IS NOT NULL GROUP BY 1),
                 g AS (SELECT resident_key,
                              coalesce(list_contains(string_split(special_groups, ';'),
                                                     'elderly_living_alone'), false) AS alone
                       FROM ({current_rows_sql(REGISTRY)}))
            SELECT e.resident_key FROM e JOIN g ON g.resident_key = e.resident_key
            WHERE e.alone <> g.alone ORDER BY 1""").fetchall()
    detail = ("living-alone status in elderly_care differs from the grid registry's "
              "elderly_living_alone group")
    return [_finding("living_alone", k, ["elderly_care", REGISTRY], latest, detail)
            for (k,) in rows]


def _death(con: duckdb.DuckDBPyConnection, latest: dict[str, dict[str, Any]],
           contracts: dict[str, ContractSpec]) -> list[dict[str, Any]]:
    if REGISTRY not in latest:
        return []
    out = []
    for name, contract in sorted(contracts.items()):
        if (name == REGISTRY or name not in latest or contract.kind != "source"
                or contract.identity_column is None
                or "period_start" not in contract.column_names):
            continue
        rows = con.execute(
            f"""SELECT t.resident_key, count(*) FROM ({current_rows_sql(name)}) t
                JOIN ({current_rows_sql(REGISTRY)}) g ON g.resident_key = t.resident_key
                WHERE g.date_of_death IS NOT NULL AND t.period_start > g.date_of_death
                GROUP BY 1 ORDER BY 1""").fetchall()
        out += [_finding("death_before_benefit", k, [name, REGISTRY], latest,
                         f"{n} period(s) in {name} start after the date of death in the "
                         "grid registry") for k, n in rows]
    return out


def _community(con: duckdb.DuckDBPyConnection, latest: dict[str, dict[str, Any]],
               contracts: dict[str, ContractSpec]) -> list[dict[str, Any]]:
    out = []
    for name, contract in sorted(contracts.items()):
        if (name == REGISTRY or name not in latest or REGISTRY not in latest
                or "grid_code" not in contract.column_names
                or contract.identity_column is None):
            continue
        as_of = latest[name]["as_of"] or "9999-12-31"
        order = "t.period_start" if "period_start" in contract.column_names else "t.source_row"
        rows = con.execute(
            f"""WITH d AS (
                    SELECT t.resident_key,
                           arg_max(CASE WHEN t.grid_scheme = 'standard' THEN t.grid_code
                                        ELSE x.standard_code END, {order}) AS code
                    FROM ({current_rows_sql(name)}) t
                    LEFT JOIN ({current_crosswalk_sql(as_of[:10])}) x
                      ON x.scheme = t.grid_scheme AND x.code = t.grid_code
                    WHERE t.grid_code IS NOT NULL GROUP BY 1)
                SELECT d.resident_key FROM d
                JOIN ({current_rows_sql(REGISTRY)}) g ON g.resident_key = d.resident_key
                WHERE d.code IS NOT NULL AND left(d.code, 12) <> left(g.grid_code, 12)
                ORDER BY 1""").fetchall()
        detail = (f"the community of {name}'s grid code (through the crosswalk) differs "
                  "from the grid registry's community")
        out += [_finding("community", k, [name, REGISTRY], latest, detail) for (k,) in rows]
    return out


def _phone(con: duckdb.DuckDBPyConnection, latest: dict[str, dict[str, Any]]
           ) -> list[dict[str, Any]]:
    # The vault keeps each (resident, field, ciphertext) once, tagged with the batch that
    # first brought it: a phone two datasets agree on is one row, a disagreement two.
    rows = con.execute(
        """SELECT v.resident_key, list(DISTINCT b.dataset ORDER BY b.dataset)
           FROM vault.identity v JOIN meta.batches b ON b.batch_id = v.batch_id
           WHERE v.field = 'phone'
           GROUP BY 1
           HAVING count(DISTINCT b.dataset) > 1 AND count(DISTINCT v.ciphertext) > 1
           ORDER BY 1""").fetchall()
    out = []
    for key, datasets in rows:
        known = [d for d in datasets if d in latest]
        if len(known) > 1:
            out.append(_finding("phone", key, known, latest,
                                "the phone numbers in " + " and ".join(known) + " differ"))
    return out


def _registry_duplicates(con: duckdb.DuckDBPyConnection, latest: dict[str, dict[str, Any]]
                         ) -> list[dict[str, Any]]:
    if REGISTRY not in latest:
        return []
    rows = con.execute(
        f"""SELECT d.resident_key, d.other_key, d.probability FROM linkage.registry_duplicates d
            SEMI JOIN ({current_rows_sql(REGISTRY)}) g ON g.resident_key = d.resident_key
            ORDER BY 1, 2""").fetchall()
    return [_finding("registry_duplicate", key, [REGISTRY], latest,
                     f"the grid registry probably holds this resident twice, also as resident "
                     f"{other} under another ID number (match probability {p:.2f}); correct "
                     "the registry at source: the hub merges nothing") for key, other, p in rows]


def find_conflicts(con: duckdb.DuckDBPyConnection, contracts: dict[str, ContractSpec]
                   ) -> tuple[list[str], list[dict[str, Any]]]:
    """(kinds evaluated, findings). `community` is evaluated only with a crosswalk."""
    latest = latest_batches(con)
    kinds = ["living_alone", "death_before_benefit", "phone", "registry_duplicate"]
    findings = (_living_alone(con, latest) + _death(con, latest, contracts)
                + _phone(con, latest) + _registry_duplicates(con, latest))
    if crosswalk_available(con):
        try:
            findings += _community(con, latest, contracts)
            kinds.append("community")
        except duckdb.Error:  # a crosswalk of another shape: leave community findings as they are
            pass
    return kinds, findings
