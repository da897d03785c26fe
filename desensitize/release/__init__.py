"""Safe releases: de-identified extracts and aggregate tables for auditors and researchers.

    hierarchy   generalisation hierarchies of quasi-identifiers (levels up to `*`)
    column_plan what a release does with each column, read from the contract's classification
    lattice     full-domain generalisation search for k-anonymity and l-diversity of persons
    risk        the linkage gate: every attacker of the threat model simulated (docs/privacy.md)
    pseudonyms  per-release keys and pseudonyms derived from the pseudonym master key
    aggregate   geography x category tables, suppressed against their totals and the extract
    release     one release of one dataset: extract, aggregates and report figures
    errors      ReleaseError and its subclasses

Depends only on `schemas` (and `desensitize`); the hub reads the warehouse and writes files.
"""

from desensitize.release.errors import (
    ReleaseColumnMissing,
    ReleaseEmpty,
    ReleaseError,
    ReleaseNotClassified,
    ReleaseNotPossible,
    ReleaseParameterInvalid,
    ReleaseRiskTooHigh,
)

__all__ = [
    "ReleaseColumnMissing",
    "ReleaseEmpty",
    "ReleaseError",
    "ReleaseNotClassified",
    "ReleaseNotPossible",
    "ReleaseParameterInvalid",
    "ReleaseRiskTooHigh",
]
