"""Compute the resident and household views in the warehouse's DuckDB session.

Everything is set-based SQL over the current batches (see hub.ledger.current) and the
assistance ledger; the only Python step is opening and masking the vault (hub.views.profile).
`prepare_views` builds what all residents share (and `unmapped_codes`); `compute_partition`
builds the TEMP tables `resident_views` and `household_views` of one partition of residents
(hub.views.partition), which hub.views.publish streams into the state store. Nothing here
writes the warehouse file.

Period attribution of totals: a fact counts in the month and year its period starts in (the
departments pay monthly periods; a yearly service contract is one fact in its first month).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from desensitize.generalise import AGE_BAND_STARTS, AGE_BANDS
from desensitize.vault import VaultCipher
from hub.ledger.current import CURRENT_BATCHES_SQL, current_rows_sql
from hub.views.documents import build_documents, build_ledger_parts
from hub.views.profile import masked_identity, vault_entries
from hub.views.rules import (
    MissedBenefitRule,
    OverlapRule,
    missed_benefit_sql,
    overlap_sql,
)
from hub.warehouse.crosswalk import mapping_sql
from schemas.compile_ddl import GRID_SCHEME_COLUMN, curated_columns
from schemas.registry import source_contracts
from schemas.spec import ContractSpec, Identity, SharingClass

_SKIP = {"resident_key", "grid_code", GRID_SCHEME_COLUMN, "as_of", "batch_id", "source_row"}
REGISTRY = "grid"
# The latest row of a resident: the latest batch (one without an as-of date the oldest), its
# id breaking ties, so a republish gives the same views. An arg_max key: a NULL inside the
# struct would compare above every date.
_LATEST_KEY = "(coalesce(batch_as_of, DATE '0001-01-01'), batch_id)"


# The current rows of a dataset (its name -> a SELECT), restricted to the partition at hand.
RowsSql = Callable[[str], str]


@dataclass(frozen=True)
class PartitionSql:
    """The SELECTs of one partition's inputs, staged in partition order (hub.views.partition)
    so that a partition reads its own rows, not the whole warehouse's."""

    rows: RowsSql
    ledger: str
    vault: str
    """The vault entries of the identity fields the profiles open."""
    locations: str
    """Department grid codes through the crosswalk (TEMP table dept_locations' rows)."""


@dataclass(frozen=True)
class ComputedViews:
    residents: int
    households: int


def _attribute_columns(contract: ContractSpec) -> tuple[list[tuple[str, str]], list[str]]:
    """(shared attribute columns with DuckDB types, not-shared columns) of a department
    dataset: its curated columns that are neither identity, lineage nor ledger fields."""
    ledger = contract.ledger
    mapped = set()
    if ledger is not None:
        mapped = {ledger.program, ledger.kind, ledger.amount, ledger.quantity, ledger.unit,
                  ledger.period_start, ledger.period_end}
    shared, restricted = [], []
    for name, sql_type in curated_columns(contract):
        if name in _SKIP or name in mapped:
            continue
        column = next((c for c in contract.columns if c.curated_name == name), None)
        if column is not None and column.sharing == SharingClass.NOT_SHARED:
            restricted.append(name)
        else:
            shared.append((name, sql_type))
    return shared, restricted


def _aggregate(name: str, sql_type: str, has_period: bool) -> str:
    # Rows of one resident may disagree: a condition on any row counts, the latest date wins.
    if sql_type == "BOOLEAN":
        return f'bool_or("{name}")'
    if sql_type == "DATE":
        return f'max("{name}")'
    order = "period_start DESC NULLS LAST, " if has_period else ""
    return f'first("{name}" ORDER BY {order}"{name}")'


def _age_sql(on: str) -> str:
    age = f"coalesce(date_sub('year', r.birth_date, {on}), year({on}) - r.birth_year - 1)"
    bands = " ".join(f"WHEN {age} >= {start} THEN '{label}'"
                     for start, label in reversed(list(zip(AGE_BAND_STARTS, AGE_BANDS,
                                                           strict=True))))
    return f"CASE WHEN {age} < 0 THEN NULL {bands} END"


def _dataset_tables(con: duckdb.DuckDBPyConnection, contracts: dict[str, ContractSpec],
                    rows: RowsSql) -> None:
    """presence (resident, dataset, batch, attributes JSON) and per-resident attributes."""
    presence, attrs = [], []
    for name, contract in contracts.items():
        shared, restricted = _attribute_columns(contract)
        has_period = "period_start" in contract.column_names
        if name == REGISTRY:
            shared = []  # the registry's columns are the profile, household and location
        fields = ", ".join(f"{n} := {_aggregate(n, t, has_period)}" for n, t in shared)
        attributes = f"to_json(struct_pack({fields}))" if fields else "CAST('{}' AS JSON)"
        secret = ", ".join(f"{n} := list_sort(list(DISTINCT \"{n}\") "
                           f"FILTER (WHERE \"{n}\" IS NOT NULL))"
                           for n in restricted)
        restricted_json = f"to_json(struct_pack({secret}))" if secret else "CAST(NULL AS JSON)"
        presence.append(
            f"SELECT resident_key, '{name}' AS dataset, batch_id, any_value(batch_as_of) AS "
            f"as_of, {attributes} AS attributes, {restricted_json} AS restricted "
            f"FROM ({rows(name)}) GROUP BY resident_key, batch_id")
        if shared:
            cols = ", ".join(f'{_aggregate(n, t, has_period)} AS "{n}"' for n, t in shared)
            con.execute(f"CREATE OR REPLACE TEMP TABLE attrs_{name} AS SELECT resident_key, "
                        f"{cols} FROM ({rows(name)}) GROUP BY resident_key")
            attrs.append((name, [n for n, _ in shared]))
    con.execute("CREATE OR REPLACE TEMP TABLE presence AS " + " UNION ALL ".join(presence))
    # A resident whose rows of a batch were all linked by a match has that batch's block too.
    con.execute("""INSERT INTO presence
        SELECT l.resident_key, any_value(l.source_dataset), l.batch_id, max(l.as_of),
               CAST('{}' AS JSON), CAST(NULL AS JSON)
        FROM ledger l ANTI JOIN presence p
          ON p.resident_key = l.resident_key AND p.batch_id = l.batch_id
        WHERE l.linked_by <> 'id' GROUP BY l.resident_key, l.batch_id""")
    con.execute("CREATE OR REPLACE TEMP TABLE universe AS "
                "SELECT DISTINCT resident_key FROM presence WHERE resident_key IS NOT NULL")
    joins = " ".join(f"LEFT JOIN attrs_{n} USING (resident_key)" for n, _ in attrs)
    columns = ", ".join(f'"{c}"' for _, cs in attrs for c in cs if c != "resident_key")
    con.execute(f"CREATE OR REPLACE TEMP TABLE dept_attrs AS SELECT resident_key"
                f"{', ' + columns if columns else ''} FROM universe {joins}")


def _locations(con: duckdb.DuckDBPyConnection, contracts: dict[str, ContractSpec]) -> None:
    """Department grid codes through the crosswalk, and the codes that map to nothing."""
    parts = []
    for name, contract in contracts.items():
        if name == REGISTRY or not any(c.identity == Identity.GRID_CODE for c in contract.columns):
            continue
        parts.append(f"SELECT '{name}' AS dataset, resident_key, grid_scheme AS scheme, "
                     f"grid_code AS code, batch_as_of AS on_date FROM ({current_rows_sql(name)}) "
                     f"WHERE grid_code IS NOT NULL")
    if not parts:
        parts = ["SELECT NULL::VARCHAR dataset, NULL::VARCHAR resident_key, NULL::VARCHAR "
                 "scheme, NULL::VARCHAR code, NULL::DATE on_date WHERE FALSE"]
    con.execute("CREATE OR REPLACE TEMP TABLE dept_codes AS " + " UNION ALL ".join(parts))
    con.execute("CREATE OR REPLACE TEMP TABLE code_keys AS "
                "SELECT DISTINCT scheme, code, on_date FROM dept_codes")
    con.execute(f"CREATE OR REPLACE TEMP TABLE code_map AS {mapping_sql('code_keys')}")
    con.execute("""CREATE OR REPLACE TEMP TABLE dept_locations AS
        SELECT d.dataset, d.resident_key, d.scheme, d.code, m.grid_code, m.community_code,
               m.mapped
        FROM dept_codes d JOIN code_map m
          ON m.scheme = d.scheme AND m.code = d.code
         AND m.on_date IS NOT DISTINCT FROM d.on_date""")
    con.execute("""CREATE OR REPLACE TEMP TABLE unmapped_codes AS
        SELECT dataset, scheme, code, count(*) AS rows, count(DISTINCT resident_key) AS residents
        FROM dept_locations WHERE NOT mapped GROUP BY ALL ORDER BY dataset, scheme, code""")


def _registry(con: duckdb.DuckDBPyConnection, rows: RowsSql, locations: str) -> None:
    """TEMP tables registry (the latest registry facts per resident) and fallback_location
    (a department's location through the crosswalk, for residents the registry places
    nowhere)."""
    # The latest row's columns taken together by one arg_max: six ordered aggregates would
    # each sort every resident's rows.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE registry AS
        SELECT resident_key, latest.gender, latest.birth_year, latest.household_key,
               latest.relation_to_head, latest.grid_code,
               latest.special_groups AS special_groups_text, date_of_death
        FROM (
            SELECT resident_key,
                   arg_max(struct_pack(gender, birth_year, household_key, relation_to_head,
                                       grid_code, special_groups), {_LATEST_KEY}) AS latest,
                   max(date_of_death) AS date_of_death
            FROM ({rows(REGISTRY)}) GROUP BY resident_key)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE fallback_location AS
        SELECT resident_key,
               min(grid_code) AS grid_code,
               min(community_code) AS community_code,
               min(dataset) FILTER (WHERE mapped) AS dataset,
               list_sort(list_distinct(list(struct_pack(dataset := dataset, scheme := scheme,
                                                        code := code))
                   FILTER (WHERE NOT mapped))) AS unmapped
        FROM ({locations}) SEMI JOIN scope USING (resident_key)
        GROUP BY resident_key""")


def _residents(con: duckdb.DuckDBPyConnection, today: date) -> None:
    on = f"DATE '{today.isoformat()}'"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE residents AS
        WITH base AS (
            SELECT u.resident_key, g.gender, g.birth_year, g.household_key, g.relation_to_head,
                   g.date_of_death, m.birth_date::DATE AS birth_date,
                   m.masked_id, m.masked_name, m.masked_phone,
                   CASE WHEN g.special_groups_text IS NULL OR g.special_groups_text = ''
                        THEN []::VARCHAR[]
                        ELSE list_sort(string_split(g.special_groups_text, ';')) END
                       AS special_groups,
                   coalesce(g.grid_code, f.grid_code) AS grid_code,
                   coalesce(left(g.grid_code, 12), f.community_code) AS community_code,
                   CASE WHEN g.grid_code IS NOT NULL THEN 'grid_registry'
                        WHEN f.dataset IS NOT NULL THEN 'crosswalk:' || f.dataset END
                       AS location_source,
                   coalesce(f.unmapped, []) AS unmapped,
                   a.* EXCLUDE (resident_key)
            FROM universe u
            LEFT JOIN registry g USING (resident_key)
            LEFT JOIN masked m USING (resident_key)
            LEFT JOIN fallback_location f USING (resident_key)
            LEFT JOIN dept_attrs a USING (resident_key)
        ),
        hh AS (
            SELECT household_key, list_sort(list_distinct(flatten(list(special_groups))))
                       AS household_groups, count(*) AS household_size
            FROM base WHERE household_key IS NOT NULL GROUP BY household_key
        )
        SELECT r.*, coalesce(hh.household_groups, []) AS household_groups, hh.household_size,
               {_age_sql(on)} AS age_band,
               left(r.grid_code, 9) AS street_code
        FROM base r LEFT JOIN hh USING (household_key)""")


def _rule_info(con: duckdb.DuckDBPyConnection, missed: list[MissedBenefitRule],
               overlaps: list[OverlapRule]) -> None:
    info = pd.DataFrame(
        [(r.id, "missed_benefit", r.description.strip()) for r in missed]
        + [(r.id, "overlap", r.description.strip()) for r in overlaps],
        columns=["rule_id", "rule_kind", "description"]).astype("string")
    con.register("rule_info_df", info)
    con.execute("CREATE OR REPLACE TEMP TABLE rule_info AS SELECT * FROM rule_info_df")
    con.unregister("rule_info_df")


def prepare_views(con: duckdb.DuckDBPyConnection, missed: list[MissedBenefitRule],
                  overlaps: list[OverlapRule], today: date) -> dict[str, date | None]:
    """The tables every partition shares: current batches, dataset and rule descriptions,
    department codes through the crosswalk (and `unmapped_codes`). Returns the reference
    dates of the rules: today and each dataset's latest current as-of."""
    contracts = source_contracts()
    con.execute(f"CREATE OR REPLACE TEMP TABLE current_batches AS {CURRENT_BATCHES_SQL}")
    freq = pd.DataFrame([(n, c.update_frequency_days, c.ledger.department if c.ledger else
                          c.owner) for n, c in contracts.items()],
                        columns=["dataset", "update_frequency_days", "department"])
    con.register("freq_df", freq)
    con.execute("CREATE OR REPLACE TEMP TABLE dataset_info AS SELECT * FROM freq_df")
    con.unregister("freq_df")
    dates: dict[str, date | None] = {"today": today}
    for name in contracts:
        row = con.execute("SELECT max(as_of) FROM current_batches WHERE dataset = ?",
                          [name]).fetchall()[0]
        dates[name] = row[0] if row else None
    _rule_info(con, missed, overlaps)
    _locations(con, contracts)
    return dates


def compute_partition(con: duckdb.DuckDBPyConnection, cipher: VaultCipher, today: date,
                      rules: tuple[list[MissedBenefitRule], list[OverlapRule]],
                      dates: dict[str, date | None], inputs: PartitionSql) -> ComputedViews:
    """resident_views and household_views of the residents in TEMP table `scope`, whose
    current rows, ledger facts, vault entries and department locations `inputs` select.
    `scope` holds whole households: a household's document and its members' household rules
    need them all."""
    missed, overlaps = rules
    con.execute(f"CREATE OR REPLACE TEMP TABLE ledger AS SELECT row_number() OVER "
                f"(ORDER BY resident_key, source_dataset, program, period_start, batch_id, "
                f"period_end, kind, amount, quantity, unit) AS fact_id, * FROM ({inputs.ledger})")
    _dataset_tables(con, source_contracts(), inputs.rows)
    # The profiles are opened and masked in Python on a thread of their own while DuckDB
    # (which releases the GIL) builds what does not need them.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="views-profile") as pool:
        masked = pool.submit(masked_identity, vault_entries(con, inputs.vault), cipher)
        _registry(con, inputs.rows, inputs.locations)
        build_ledger_parts(con, today)
        con.register("masked_arrow", masked.result())
    con.execute("CREATE OR REPLACE TEMP TABLE masked AS SELECT * FROM masked_arrow")
    con.unregister("masked_arrow")
    _residents(con, today)
    con.execute(f"CREATE OR REPLACE TEMP TABLE hints AS {missed_benefit_sql(missed, dates)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE overlap_pairs AS {overlap_sql(overlaps)}")
    build_documents(con, today)
    counts = [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0]
              for t in ("resident_views", "household_views")]
    n = [int(c[0]) if c else 0 for c in counts]
    return ComputedViews(residents=n[0], households=n[1])
