"""Every contract compiles to each target, and the targets agree with each other."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from schemas_kit import TODAY, curated_frame, valid_frame

from schemas.compile_arrow import curated_arrow_schema, to_curated_arrow
from schemas.compile_catalog import catalog_entry
from schemas.compile_ddl import curated_columns, curated_ddl, missing_column_ddl
from schemas.compile_pandera import pandera_schema
from schemas.errors import ContractViolation
from schemas.registry import all_contracts, get_contract
from schemas.spec import ColumnSpec, ColumnType, ContractSpec

CONTRACTS = sorted(all_contracts())


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(config={"autoinstall_known_extensions": False})
    yield c
    c.close()


def _create(con: duckdb.DuckDBPyConnection, contract: ContractSpec) -> None:
    for statement in curated_ddl(contract):
        con.execute(statement)


@pytest.mark.parametrize("name", CONTRACTS)
def test_pandera_schema_accepts_a_valid_frame(name: str) -> None:
    contract = get_contract(name)
    frame = valid_frame(contract)
    schema = pandera_schema(contract, TODAY)
    assert list(schema.columns) == contract.column_names
    schema.validate(frame, lazy=True)
    assert pandera_schema(contract, TODAY) is schema  # cached per name, version and day


@pytest.mark.parametrize("name", CONTRACTS)
def test_ddl_executes_and_arrow_schema_matches_the_table(
    name: str, con: duckdb.DuckDBPyConnection
) -> None:
    contract = get_contract(name)
    _create(con, contract)
    _create(con, contract)  # idempotent
    table = con.sql(f"SELECT * FROM {contract.curated_table}").to_arrow_table().schema
    ours = curated_arrow_schema(contract)
    assert [(f.name, f.type) for f in ours] == [(f.name, f.type) for f in table]
    described = con.sql(f"DESCRIBE {contract.curated_table}").fetchall()
    assert [(row[0], row[1]) for row in described] == curated_columns(contract)


@pytest.mark.parametrize("name", CONTRACTS)
def test_curated_columns_leave_out_identifiers(name: str) -> None:
    contract = get_contract(name)
    names = [n for n, _ in curated_columns(contract)]
    for raw in ("resident_id", "name", "phone", "address", "household_id", "birth_date"):
        assert raw not in names
    if contract.kind == "source":
        assert names[-2:] == ["batch_id", "source_row"]
    else:
        assert "source_row" not in names
        assert names.count("batch_id") == 1
    if "grid_code" in names:
        assert names[names.index("grid_code") + 1] == "grid_scheme"


def test_lineage_columns_refuse_nulls(con: duckdb.DuckDBPyConnection) -> None:
    contract = get_contract("medical")
    _create(con, contract)
    cols = ", ".join("NULL" for _ in curated_columns(contract))
    with pytest.raises(duckdb.ConstraintException):
        con.execute(f"INSERT INTO {contract.curated_table} VALUES ({cols})")


def test_missing_column_ddl_adds_what_a_newer_version_declares(
    con: duckdb.DuckDBPyConnection,
) -> None:
    old = get_contract("grid")
    newer = old.model_copy(
        update={
            "version": "1.1.0",
            "changes": {**old.changes, "1.1.0": "Adds disability level."},
            "columns": [*old.columns, ColumnSpec(name="disability_level",
                                                 type=ColumnType.INTEGER, nullable=True,
                                                 required=False)],
        }
    )
    _create(con, old)
    con.execute(f"INSERT INTO {old.curated_table} (batch_id, source_row) VALUES ('b1', 1)")
    existing = {row[0] for row in con.sql(f"DESCRIBE {old.curated_table}").fetchall()}
    statements = missing_column_ddl(newer, existing)
    assert len(statements) == 1
    for statement in statements:
        con.execute(statement)
    assert missing_column_ddl(newer, existing | {"disability_level"}) == []
    described = con.sql(f"DESCRIBE {old.curated_table}").fetchall()
    # ALTER appends, so an evolved table is loaded by name, not by position.
    assert {(row[0], row[1]) for row in described} == set(curated_columns(newer))
    frame = valid_frame(newer).rename(columns={"resident_id": "resident_key",
                                               "household_id": "household_key",
                                               "birth_date": "birth_year"})
    frame["birth_year"] = pd.Series(1950, index=frame.index, dtype="Int64")
    con.register("incoming", to_curated_arrow(newer, frame, batch_id="b2", grid_scheme="standard"))
    con.execute(f"INSERT INTO {old.curated_table} BY NAME SELECT * FROM incoming")
    levels = con.sql(f"SELECT disability_level FROM {old.curated_table} ORDER BY source_row")
    assert [r[0] for r in levels.fetchall()] == [None, 0, 0, 0]


@pytest.mark.parametrize("name", CONTRACTS)
def test_catalog_entry_is_json_and_describes_every_column(name: str) -> None:
    contract = get_contract(name)
    entry = json.loads(json.dumps(catalog_entry(contract)))
    assert entry["name"] == name
    assert entry["version"] == contract.version
    assert [c["name"] for c in entry["columns"]] == contract.column_names
    by_name = {c["name"]: c for c in entry["columns"]}
    if "resident_id" in by_name:
        assert by_name["resident_id"]["curated_name"] == "resident_key"
        assert by_name["resident_id"]["sharing"] == "not_shared"
    if "name" in by_name:
        assert by_name["name"]["curated_name"] is None


# --- arrow tables insert into the DDL table exactly --------------------------------------

FEN = [12345, 0, -1, -12345, 99_999_999_999_999, -99_999_999_999_999, None, 5]


def _curated_elderly(rows: int) -> pd.DataFrame:
    idx = pd.Index(np.arange(rows, dtype=np.int64) + 2)
    days = pd.Series(pd.to_datetime(["2024-01-01"] * rows), index=idx).astype("datetime64[s]")
    return pd.DataFrame(
        {
            "resident_key": pd.Series([f"k{i}" for i in range(rows)], index=idx, dtype="string"),
            "program": pd.Series(["home_care"] * rows, index=idx, dtype="string"),
            "kind": pd.Series(["cash"] * rows, index=idx, dtype="string"),
            "amount": pd.Series(FEN[:rows], index=idx, dtype="Int64"),
            "quantity": pd.Series([1.005, 0.1, 2.675, None, -1.005, 3, 0.125, 7.5][:rows],
                                  index=idx, dtype="Float64"),
            "unit": pd.Series(["hour"] * rows, index=idx, dtype="string"),
            "period_start": days,
            "period_end": days.mask(idx == 3),
            "care_level": pd.Series([1, None] * (rows // 2), index=idx, dtype="Int64"),
            "living_alone": pd.Series([True, None] * (rows // 2), index=idx, dtype="boolean"),
            "grid_code": pd.Series(["110105001001001", None] * (rows // 2), index=idx,
                                   dtype="string"),
            "as_of": days,
        }
    )


def test_arrow_table_round_trips_through_duckdb_exactly(con: duckdb.DuckDBPyConnection) -> None:
    contract = get_contract("elderly_care")
    _create(con, contract)
    frame = _curated_elderly(len(FEN))
    table = to_curated_arrow(contract, frame, batch_id="batch-1", grid_scheme="standard")
    assert table.schema == curated_arrow_schema(contract)
    con.register("incoming", table)
    con.execute(f"INSERT INTO {contract.curated_table} SELECT * FROM incoming")
    got = con.sql(
        f"SELECT amount, quantity, period_end, grid_scheme, batch_id, source_row, care_level "
        f"FROM {contract.curated_table} ORDER BY source_row"
    ).fetchall()
    assert [r[0] for r in got] == [
        Decimal("123.45"), Decimal("0.00"), Decimal("-0.01"), Decimal("-123.45"),
        Decimal("999999999999.99"), Decimal("-999999999999.99"), None, Decimal("0.05"),
    ]
    assert [r[1] for r in got] == [
        Decimal("1.01"), Decimal("0.10"), Decimal("2.68"), None, Decimal("-1.01"),
        Decimal("3.00"), Decimal("0.13"), Decimal("7.50"),
    ]
    assert got[1][2] is None
    assert got[0][2] is not None
    assert [r[3] for r in got] == ["standard", None] * 4  # no scheme without a code
    assert {r[4] for r in got} == {"batch-1"}
    assert [r[5] for r in got] == list(frame.index)
    assert [r[6] for r in got] == [1, None] * 4


@pytest.mark.parametrize("name", CONTRACTS)
def test_every_contract_loads_its_curated_rows(name: str, con: duckdb.DuckDBPyConnection) -> None:
    contract = get_contract(name)
    _create(con, contract)
    table = to_curated_arrow(contract, curated_frame(contract), batch_id="b9",
                             grid_scheme="standard")
    con.register("incoming", table)
    con.execute(f"INSERT INTO {contract.curated_table} SELECT * FROM incoming")
    back = con.sql(f"SELECT * FROM {contract.curated_table}").to_arrow_table()
    assert back.num_rows == 3
    if "amount" in back.column_names:
        assert set(back.column("amount").to_pylist()) == {Decimal("123.45")}
    if contract.kind == "source":
        assert back.column("source_row").to_pylist() == [2, 3, 4]
        assert set(back.column("batch_id").to_pylist()) == {"b9"}


def test_money_beyond_decimal_14_2_is_refused() -> None:
    contract = get_contract("elderly_care")
    frame = _curated_elderly(2)
    frame["amount"] = pd.Series([10**14, 1], index=frame.index, dtype="Int64")
    with pytest.raises(ContractViolation) as err:
        to_curated_arrow(contract, frame, batch_id="b")
    assert str(10**14) not in str(err.value)


def test_missing_curated_column_is_a_contract_violation() -> None:
    contract = get_contract("elderly_care")
    frame = _curated_elderly(2).drop(columns=["care_level"])
    with pytest.raises(ContractViolation, match="care_level"):
        to_curated_arrow(contract, frame, batch_id="b")


def test_grid_birth_year_and_frame_scheme_win(con: duckdb.DuckDBPyConnection) -> None:
    contract = get_contract("grid")
    _create(con, contract)
    idx = pd.Index([10, 11], dtype="int64")
    date = pd.Series(pd.to_datetime(["2024-05-01"] * 2), index=idx).astype("datetime64[s]")
    frame = pd.DataFrame(
        {
            "resident_key": pd.Series(["a", "b"], index=idx, dtype="string"),
            "gender": pd.Series(["M", "F"], index=idx, dtype="string"),
            "birth_year": pd.Series([1949, None], index=idx, dtype="Int64"),
            "household_key": pd.Series(["h", "h"], index=idx, dtype="string"),
            "relation_to_head": pd.Series(["head", "spouse"], index=idx, dtype="string"),
            "grid_code": pd.Series(["110105001001001"] * 2, index=idx, dtype="string"),
            "grid_scheme": pd.Series(["standard", "mapped"], index=idx, dtype="string"),
            "special_groups": pd.Series(["disabled;veteran", None], index=idx, dtype="string"),
            "date_of_death": date.mask(idx == 10),
            "as_of": date,
        }
    )
    table = to_curated_arrow(contract, frame, batch_id="b2", grid_scheme="ignored")
    con.register("incoming", table)
    con.execute(f"INSERT INTO {contract.curated_table} SELECT * FROM incoming")
    back = con.sql(f"SELECT * FROM {contract.curated_table} ORDER BY source_row").to_arrow_table()
    assert back.column("birth_year").to_pylist() == [1949, None]
    assert back.column("grid_scheme").to_pylist() == ["standard", "mapped"]
    assert back.column("source_row").to_pylist() == [10, 11]
    assert back.column("birth_year").type == pa.int16()
