"""Assemble the published JSON documents in SQL (DuckDB to_json), one per resident/household.

Shapes (money is a string with two decimals, never a float; dates are ISO strings):

resident: {resident_key, today, profile{id_number, name, phone (all masked), gender,
  birth_year, age_band, alive}, location{grid_code, community_code, street_code, source,
  unmapped[{dataset, scheme, code}]}, household{household_key, relation_to_head, size},
  special_groups[], departments[{department, dataset, batch_id, as_of, stale,
  update_frequency_days, attributes{}, facts[fact{..., linked_by (id | match | review),
  match_probability, linked_on}]}], totals{by_month[{month, kind,
  department, amount, facts, amount_by_id, facts_by_id}], by_year[{year, ...}],
  by_kind[{kind, amount, facts, amount_by_id, facts_by_id}]} (`*_by_id`: the facts linked by
  ID number only; the others include those linked by a match or a reviewer),
  overlaps[{rule_id, description, pairs[[fact, fact]]}], missed_benefits[{rule_id,
  description}], restricted{<dataset>{<column>[]}}}

`restricted` holds the not-shared columns (diagnosis codes): the API drops it for every role
that may not see it, and shows a street office the shared `chronic_condition` attribute only.

household: {household_key, today, street_code, members[{resident_key, name, relation_to_head,
  age_band}], totals{by_year[...], by_kind[...]}}
"""

from __future__ import annotations

from datetime import date

import duckdb

from hub.views.compute_sql import fact_struct

_HEAD_FIRST = "relation_to_head <> 'head', resident_key"
# Every total also without the facts linked by a match or a reviewer (hub.pipeline.linkage).
_BY_ID_FIELDS = "amount_by_id := CAST(a_id AS VARCHAR), facts_by_id := n_id"


def sorted_json_array(item: str, key: str) -> str:
    """Aggregate: the JSON array text of `item` (JSON text per row) ordered by the text
    `key`, NULL for no rows. For keys made of generated names, ids, dates and category codes
    (no control characters): sorting one list of text per group is cheaper than an ordered
    aggregate. Documents are assembled as text: a JSON-typed part inside to_json would be
    parsed again."""
    return (f"'[' || array_to_string(list_transform(list_sort(list({key} || chr(1) || "
            f"CAST({item} AS VARCHAR))), lambda x: split_part(x, chr(1), 2)), ',') || ']'")


def text_key(*columns: str) -> str:
    """A text ordering like `ORDER BY columns` (NULLS LAST) for `sorted_json_array`: each
    column as chr(2) and its text, or chr(3) for NULL."""
    return " || ".join(f"coalesce(chr(2) || {c}, chr(3))" for c in columns)


def _object(scalars: str, members: list[tuple[str, str]]) -> str:
    """JSON object text: the to_json object `scalars` (its last member neither an object nor
    a JSON text) followed by `members`, (name, JSON text never NULL) pairs, as to_json would
    render them (compact). One concat: the text is copied once."""
    pieces = [f"rtrim(CAST({scalars} AS VARCHAR), '}}')"]
    for name, value in members:
        pieces += [f"',\"{name}\":'", value]
    return f"concat({', '.join(pieces)}, '}}')"


def _totals_sql(key: str) -> str:
    """by_month / by_year / by_kind JSON arrays per `key` (resident_key or household_key).
    Sums per month first; years and kinds add those up (exact: decimals)."""
    def sums(group: str) -> str:
        return (f"sum(a)::DECIMAL(18,2) AS a, sum(n) AS n, sum(a_id)::DECIMAL(18,2) AS a_id, "
                f"sum(n_id) AS n_id FROM monthly GROUP BY {key}, {group}")

    def items(label: str) -> str:
        return sorted_json_array(f"to_json(struct_pack({label} := p, kind := kind, "
                                 f"department := department, amount := CAST(a AS VARCHAR), "
                                 f"facts := n, {_BY_ID_FIELDS}))",
                                 text_key("p", "kind", "department"))
    return f"""
        WITH monthly AS (
            SELECT {key}, strftime(period_start, '%Y-%m') AS month,
                   CAST(year(period_start) AS VARCHAR) AS year, kind, department,
                   coalesce(sum(amount), 0) AS a, count(*) AS n,
                   coalesce(sum(amount) FILTER (WHERE linked_by = 'id'), 0) AS a_id,
                   count(*) FILTER (WHERE linked_by = 'id') AS n_id
            FROM ledger WHERE {key} IS NOT NULL GROUP BY ALL),
        by_month AS (SELECT {key}, {items("month")} AS items
                     FROM (SELECT {key}, month AS p, kind, department,
                                  a::DECIMAL(18,2) AS a, n, a_id::DECIMAL(18,2) AS a_id, n_id
                           FROM monthly)
                     GROUP BY {key}),
        by_year AS (SELECT {key}, {items("year")} AS items
                    FROM (SELECT {key}, year AS p, kind, department,
                                 {sums("year, kind, department")})
                    GROUP BY {key}),
        by_kind AS (SELECT {key}, {sorted_json_array("to_json(struct_pack(kind := kind, "
                                                     "amount := CAST(a AS VARCHAR), "
                                                     "facts := n, " + _BY_ID_FIELDS + "))",
                                                     text_key("kind"))} AS items
                    FROM (SELECT {key}, kind, {sums("kind")}) GROUP BY {key})
        SELECT {key}, m.items AS by_month, y.items AS by_year, k.items AS by_kind
        FROM by_month m JOIN by_year y USING ({key}) JOIN by_kind k USING ({key})"""


def _totals(alias: str, lists: tuple[str, ...]) -> str:
    """The totals object text: the JSON arrays `lists` of `alias`, `[]` where it has none."""
    pieces = []
    for i, name in enumerate(lists):
        pieces += [f"'{'{' if i == 0 else ','}\"{name}\":'", f"coalesce({alias}.{name}, '[]')"]
    return f"concat({', '.join(pieces)}, '}}')"


def build_ledger_parts(con: duckdb.DuckDBPyConnection, today: date) -> None:
    """TEMP tables dept_blocks, resident_totals and household_totals: the document parts made
    of the ledger and `presence` alone (no profile: they can run while it is opened)."""
    day = f"DATE '{today.isoformat()}'"
    empty = "'[]'"
    block = _object(f"""to_json(struct_pack(
        department := i.department, dataset := p.dataset, batch_id := p.batch_id,
        as_of := p.as_of,
        stale := coalesce({day} - p.as_of > i.update_frequency_days, FALSE),
        update_frequency_days := i.update_frequency_days))""",
        [("attributes", "coalesce(CAST(p.attributes AS VARCHAR), 'null')"),
         ("facts", f"coalesce(f.facts, {empty})")])
    # A block's facts: by period, program code, then fact (an ordinal, zero-padded).
    fact_order = (text_key("CAST(l.period_start AS VARCHAR)", "l.program")
                  + " || lpad(CAST(l.fact_id AS VARCHAR), 20, '0')")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE dept_blocks AS
        WITH facts AS (
            SELECT l.resident_key, l.batch_id,
                   {sorted_json_array(f"to_json({fact_struct('l')})", fact_order)} AS facts
            FROM ledger l GROUP BY l.resident_key, l.batch_id
        ),
        blocks AS (
            SELECT p.resident_key, p.dataset, p.batch_id, p.restricted,
                   {block} AS block
            FROM presence p
            JOIN dataset_info i ON i.dataset = p.dataset
            LEFT JOIN facts f ON f.resident_key = p.resident_key AND f.batch_id = p.batch_id
        )
        SELECT resident_key,
               {sorted_json_array("block", text_key("dataset", "batch_id"))} AS departments,
               to_json(map_from_entries(list_transform(
                   list_sort(list(struct_pack(d := dataset, b := batch_id, v := restricted))
                             FILTER (WHERE restricted IS NOT NULL)),
                   lambda x: struct_pack(k := x.d, v := x.v)))) AS restricted
        FROM blocks GROUP BY resident_key""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE resident_totals AS {_totals_sql('resident_key')}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE household_totals AS "
                f"{_totals_sql('household_key')}")


def build_documents(con: duckdb.DuckDBPyConnection, today: date) -> None:
    """TEMP tables resident_views and household_views, from `residents`, the rules' results
    and the parts of `build_ledger_parts`."""
    day = f"DATE '{today.isoformat()}'"
    empty = "'[]'"
    # Each document: to_json of its scalar and list members, then the members already
    # rendered as JSON text (departments, totals) appended as text.
    resident = _object(f"""to_json(struct_pack(
        resident_key := r.resident_key, today := {day},
        profile := struct_pack(id_number := r.masked_id, name := r.masked_name,
                               phone := r.masked_phone, gender := r.gender,
                               birth_year := r.birth_year, age_band := r.age_band,
                               alive := r.date_of_death IS NULL),
        location := struct_pack(grid_code := r.grid_code, community_code := r.community_code,
                                street_code := r.street_code, source := r.location_source,
                                unmapped := r.unmapped),
        household := struct_pack(household_key := r.household_key,
                                 relation_to_head := r.relation_to_head,
                                 size := r.household_size),
        special_groups := r.special_groups))""",
        [("departments", f"coalesce(d.departments, {empty})"),
         ("totals", _totals("t", ("by_month", "by_year", "by_kind"))),
         ("overlaps", "CAST(to_json(coalesce(o.overlaps, [])) AS VARCHAR)"),
         ("missed_benefits", "CAST(to_json(coalesce(h.hints, [])) AS VARCHAR)"),
         ("restricted", "coalesce(CAST(d.restricted AS VARCHAR), 'null')")])
    household = _object(f"""to_json(struct_pack(
        household_key := m.household_key, today := {day}, street_code := m.street_code,
        community_code := m.community_code, grid_code := m.grid_code))""",
        [("members", "m.members"),
         ("totals", _totals("t", ("by_year", "by_month", "by_kind")))])
    # Members: the head first, then by resident key (fixed-length hex).
    member = ("to_json(struct_pack(resident_key := resident_key, name := masked_name, "
              "relation_to_head := relation_to_head, age_band := age_band))")
    member_order = ("CASE WHEN relation_to_head = 'head' THEN '0' "
                    "WHEN relation_to_head IS NULL THEN '2' ELSE '1' END || resident_key")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE resident_overlaps AS
        SELECT resident_key, list(struct_pack(rule_id := rule_id, description := description,
                                              pairs := pairs) ORDER BY rule_id) AS overlaps
        FROM (
            SELECT o.resident_key, o.rule_id, any_value(i.description) AS description,
                   list([{fact_struct('a')}, {fact_struct('b')}] ORDER BY a.period_start,
                        a.fact_id, b.fact_id) AS pairs
            FROM overlap_pairs o
            JOIN ledger a ON a.fact_id = o.a_fact
            JOIN ledger b ON b.fact_id = o.b_fact
            JOIN rule_info i ON i.rule_id = o.rule_id
            GROUP BY o.resident_key, o.rule_id)
        GROUP BY resident_key""")
    con.execute("""CREATE OR REPLACE TEMP TABLE resident_hints AS
        SELECT h.resident_key, list(struct_pack(rule_id := h.rule_id,
                                                description := i.description)
                                    ORDER BY h.rule_id) AS hints
        FROM hints h JOIN rule_info i ON i.rule_id = h.rule_id GROUP BY h.resident_key""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE resident_views AS
        SELECT r.resident_key, r.household_key, r.street_code, r.community_code, r.grid_code,
               r.special_groups, r.masked_name, r.age_band,
               o.overlaps IS NOT NULL AS has_overlap,
               h.hints IS NOT NULL AS has_missed_benefit,
               {resident} AS document
        FROM residents r
        LEFT JOIN dept_blocks d USING (resident_key)
        LEFT JOIN resident_totals t USING (resident_key)
        LEFT JOIN resident_overlaps o USING (resident_key)
        LEFT JOIN resident_hints h USING (resident_key)""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE household_views AS
        SELECT m.household_key, m.street_code,
               {household} AS document
        FROM (
            SELECT household_key,
                   first(street_code ORDER BY {_HEAD_FIRST}) AS street_code,
                   first(community_code ORDER BY {_HEAD_FIRST}) AS community_code,
                   first(grid_code ORDER BY {_HEAD_FIRST}) AS grid_code,
                   {sorted_json_array(member, member_order)} AS members
            FROM residents WHERE household_key IS NOT NULL GROUP BY household_key
        ) m LEFT JOIN household_totals t USING (household_key)""")
