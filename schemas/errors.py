"""Errors raised while loading or applying a contract.

    SchemaError
    ├── ContractNotFound      no contract file for the dataset name
    ├── ContractInvalid       a contract file breaks the contract format itself
    └── ContractViolation     an extract breaks a contract (missing column, uncoercible type)

Messages name the dataset, contract version and column, and say what to do next.
They never carry a data value.
"""

from __future__ import annotations


class SchemaError(Exception):
    """Base of every error raised by `schemas`."""


class ContractNotFound(SchemaError):
    def __init__(self, dataset: str, known: list[str]) -> None:
        self.dataset = dataset
        self.known = known
        super().__init__(
            f"no contract for dataset '{dataset}'; known datasets: {', '.join(sorted(known))}"
        )


class ContractInvalid(SchemaError):
    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"contract file {source} is invalid: {problem}; fix the file and reload")


class ContractViolation(SchemaError):
    """An extract cannot be read against the contract at all (not a row-level problem)."""

    def __init__(
        self, dataset: str, version: str, column: str, rule: str, detail: str = ""
    ) -> None:
        self.dataset = dataset
        self.version = version
        self.column = column
        self.rule = rule
        self.detail = detail
        extra = f": {detail}" if detail else ""
        super().__init__(
            f"extract breaks contract {dataset} v{version}: column '{column}' fails rule "
            f"'{rule}'{extra}; fix the source mapping or the extract and upload again"
        )
