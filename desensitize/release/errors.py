"""Errors raised while preparing a safe release (de-identified extract and aggregate table).

    DesensitizeError (DataHubError)
    └── ReleaseError                 a release cannot be prepared
        ├── ReleaseParameterInvalid  k, l, a threshold, the recipient or a level is out of range
        ├── ReleaseColumnMissing     the frame lacks a column its contract promises
        ├── ReleaseNotClassified     a column of the contract has no release classification
        ├── ReleaseEmpty             the dataset has no current rows to release
        ├── ReleaseNotPossible       no generalisation reaches k and l within the suppression budget
            └── ReleaseRiskTooHigh   an attacker of the threat model re-identifies too many persons

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


class ReleaseNotClassified(ReleaseError):
    def __init__(self, dataset: str, column: str, problem: str = "") -> None:
        self.dataset = dataset
        self.column = column
        super().__init__(
            f"dataset {dataset}: column {column} has no usable release classification"
            f"{' (' + problem + ')' if problem else ''}; give it `release: {{role, reason}}` "
            "in the contract (quasi_identifier, sensitive, safe or removed)"
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
                 persons: int, least_suppressed_share: float, top_k: int | None = None,
                 top_l: int | None = None) -> None:
        self.dataset = dataset
        self.k = k
        self.l_div = l_div
        self.max_suppression = max_suppression
        self.persons = persons
        self.least_suppressed_share = least_suppressed_share
        super().__init__(
            f"dataset {dataset}: no generalisation of its quasi-identifiers reaches k={k} and "
            f"l={l_div} with at most {max_suppression:.1%} of persons suppressed (the best "
            f"would suppress {least_suppressed_share:.1%} of {persons} persons)"
            + (f"; with every quasi-identifier suppressed the smallest class holds {top_k} "
               f"persons and {top_l} sensitive values" if top_k is not None else "")
            + "; lower k or l, allow more suppression, or wait for more data"
        )


class ReleaseRiskTooHigh(ReleaseNotPossible):
    def __init__(self, dataset: str, attacker: str, share: float, threshold: float,
                 recipient_class: str, columns: list[str]) -> None:
        self.dataset = dataset
        self.attacker = attacker
        self.share = share
        self.threshold = threshold
        self.columns = columns
        needed = (f"classify {', '.join(columns)} as quasi-identifier(s) so they are "
                  "generalised, or remove them" if columns else
                  "raise k or the quasi-identifiers' minimum levels")
        ReleaseError.__init__(
            self,
            f"dataset {dataset}: refused before release: the {attacker} attacker would "
            f"re-identify {share:.1%} of the released persons uniquely, above the "
            f"{threshold:.1%} allowed for recipient class {recipient_class}; {needed}"
        )
