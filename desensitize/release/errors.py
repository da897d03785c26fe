"""Errors raised while preparing a safe release (de-identified extract and aggregate table).

    DesensitizeError (DataHubError)
    └── ReleaseError                 a release cannot be prepared
        ├── ReleaseParameterInvalid  k, l, a threshold, the recipient or a level is out of range
        ├── ReleaseColumnMissing     the frame lacks a column its contract promises
        ├── ReleaseEmpty             the dataset has no current rows to release
        └── ReleaseNotPossible       no generalisation reaches k and l within the suppression budget

Messages name the dataset, the parameter or column and the next step. They never carry a
cell value, a pseudonym or a key.
"""

from __future__ import annotations

from desensitize.errors import DesensitizeError
from schemas.errors import ExitCode


class ReleaseError(DesensitizeError):
    """Base of every error raised by `desensitize.release`."""

    status = 500


class ReleaseParameterInvalid(ReleaseError):
    status = 400
    exit_code = ExitCode.BAD_INPUT

    def __init__(self, parameter: str, problem: str) -> None:
        self.parameter = parameter
        self.problem = problem
        super().__init__(f"release parameter {parameter} is invalid: {problem}")


class ReleaseColumnMissing(ReleaseError):
    status = 500

    def __init__(self, dataset: str, column: str) -> None:
        self.dataset = dataset
        self.column = column
        super().__init__(
            f"dataset {dataset}: column {column} of the contract is missing from the rows to "
            "release; open the warehouse with the pipeline worker once (it adds missing "
            "columns) and retry"
        )


class ReleaseEmpty(ReleaseError):
    status = 409
    exit_code = ExitCode.BAD_INPUT

    def __init__(self, dataset: str) -> None:
        self.dataset = dataset
        super().__init__(
            f"dataset {dataset} has no current rows to release; ingest an extract first "
            "(for the assistance ledger, run `hub publish` after ingesting)"
        )


class ReleaseNotPossible(ReleaseError):
    status = 422
    exit_code = ExitCode.REFUSED

    def __init__(self, dataset: str, k: int, l_div: int, max_suppression: float,
                 persons: int, least_suppressed_share: float) -> None:
        self.dataset = dataset
        self.k = k
        self.l_div = l_div
        self.max_suppression = max_suppression
        self.persons = persons
        self.least_suppressed_share = least_suppressed_share
        super().__init__(
            f"dataset {dataset}: no generalisation of its quasi-identifiers reaches k={k} and "
            f"l={l_div} with at most {max_suppression:.1%} of records suppressed (the best "
            f"would suppress {least_suppressed_share:.1%} of {persons} persons' records); "
            "lower k or l, allow more suppression, or wait for more data"
        )
