"""SQL fragments shared by the view computations."""

from __future__ import annotations


def fact_struct(alias: str) -> str:
    """One ledger fact as a struct for the documents; money as text with two decimals."""
    a = alias
    return (f"struct_pack(dataset := {a}.source_dataset, department := {a}.department, "
            f"program := {a}.program, kind := {a}.kind, "
            f"amount := CAST({a}.amount AS VARCHAR), "
            f"quantity := CAST({a}.quantity AS VARCHAR), unit := {a}.unit, "
            f"period_start := {a}.period_start, period_end := {a}.period_end, "
            f"as_of := {a}.as_of, batch_id := {a}.batch_id, "
            f"contract_version := {a}.contract_version, "
            # How the fact reached the resident: id | match | review (hub.pipeline.linkage).
            f"linked_by := {a}.linked_by, match_probability := {a}.match_probability, "
            f"linked_on := {a}.linked_on)")
