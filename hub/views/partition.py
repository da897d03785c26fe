"""Residents to publish, split into partitions of whole households with bounded size.

Building one JSON document per resident aggregates lists, which DuckDB cannot spill to disk:
computed for a whole city at once, they need memory in proportion to the city. So the
residents to publish (all of them, or those a batch changed: hub.views.changes) are split by
a hash of their household (of the resident when the registry knows no household) into
partitions of about `PARTITION_RESIDENTS`, and each partition is computed and written on its
own. A household's members are always in one partition: its document and the household rules
(`in_group ... of: household`) need them all.

`stage` copies the current rows of every dataset, the ledger facts, the vault entries and the
department locations (hub.views.compute.prepare_views makes them first) of those residents
into TEMP tables ordered by partition (DuckDB spills them to disk past its memory limit), so
that reading one partition skips the other partitions' row groups instead of rescanning the
warehouse per partition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb

from hub.ledger.build import LEDGER_TABLE, household_sql
from hub.ledger.current import current_rows_sql
from hub.views.compute import PartitionSql
from hub.views.profile import FIELDS
from schemas.registry import source_contracts

PARTITION_RESIDENTS = 100_000
_PART = "work_part"  # not a name any contract gives a column


def all_residents_sql() -> str:
    """SELECT resident_key of every resident with a current row in any dataset."""
    return " UNION ALL ".join(f"SELECT resident_key FROM ({current_rows_sql(name)})"
                              for name in source_contracts())


def part_of_sql(key: str, parts: int) -> str:
    return f"CAST(hash({key}) % {parts} AS INTEGER)"


@dataclass(frozen=True)
class Partitions:
    count: int
    residents: int

    def inputs(self, part: int) -> PartitionSql:
        """The SELECTs of partition `part`'s staged rows."""
        def staged(table: str) -> str:
            return f"SELECT * EXCLUDE ({_PART}) FROM {table} WHERE {_PART} = {part}"

        return PartitionSql(rows=lambda name: staged(f"cur_{name}"),
                            ledger=staged("ledger_work"), vault=staged("vault_work"),
                            locations=staged("locations_work"))

    def scope(self, con: duckdb.DuckDBPyConnection, part: int) -> None:
        """TEMP table `scope`: the residents of one partition."""
        con.execute(f"CREATE OR REPLACE TEMP TABLE scope AS "
                    f"SELECT resident_key FROM work WHERE part = {part}")


def stage(con: duckdb.DuckDBPyConnection, keys_sql: str, households: str | None = None,
          per_partition: int = PARTITION_RESIDENTS, scoped: bool = False) -> Partitions:
    """TEMP tables `work(resident_key, part)` of the residents `keys_sql` selects (whole
    households: the caller's concern) and `cur_<dataset>` of their current rows. The
    household of a resident comes from `households` (a SELECT; the registry's by default).
    `scoped`: few residents, whose rows are picked before the latest row per key is."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE work_keys AS SELECT DISTINCT resident_key "
                f"FROM ({keys_sql}) WHERE resident_key IS NOT NULL")
    row = con.execute("SELECT count(*) FROM work_keys").fetchone()
    residents = int(row[0]) if row else 0
    parts = max(1, math.ceil(residents / max(1, per_partition)))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE work AS
        SELECT k.resident_key,
               {part_of_sql('coalesce(h.household_key, k.resident_key)', parts)} AS part
        FROM work_keys k LEFT JOIN ({households or household_sql()}) h USING (resident_key)""")
    con.execute("DROP TABLE work_keys")
    for name in source_contracts():
        rows = current_rows_sql(name, "work" if scoped else None)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE cur_{name} AS
            SELECT c.*, w.part AS {_PART} FROM ({rows}) c
            JOIN work w ON w.resident_key = c.resident_key ORDER BY w.part""")
    # The vault entries each partition's profiles open, and the department codes its
    # locations fall back on: staged too, or every partition would scan them all.
    fields = ", ".join(f"'{f}'" for f in FIELDS)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE vault_work AS
        SELECT v.*, w.part AS {_PART} FROM vault.identity v
        JOIN work w ON w.resident_key = v.resident_key
        WHERE v.field IN ({fields}) ORDER BY w.part""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE locations_work AS
        SELECT d.*, w.part AS {_PART} FROM dept_locations d
        JOIN work w ON w.resident_key = d.resident_key ORDER BY w.part""")
    return Partitions(parts, residents)


def stage_ledger(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP table `ledger_work`: the ledger facts of the residents in `work`."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE ledger_work AS
        SELECT l.*, w.part AS {_PART} FROM {LEDGER_TABLE} l
        JOIN work w ON w.resident_key = l.resident_key ORDER BY w.part""")


def staged_rows(name: str) -> str:
    """SELECT of the staged current rows of a dataset, every partition."""
    return f"SELECT * EXCLUDE ({_PART}) FROM cur_{name}"


def drop_partition_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP TABLE IF EXISTS temp.work")
    con.execute("DROP TABLE IF EXISTS temp.ledger_work")
    con.execute("DROP TABLE IF EXISTS temp.vault_work")
    con.execute("DROP TABLE IF EXISTS temp.locations_work")
    con.execute("DROP TABLE IF EXISTS temp.scope")
    for name in source_contracts():
        con.execute(f"DROP TABLE IF EXISTS temp.cur_{name}")
