"""Safe releases: de-identified extracts and aggregate tables for auditors and researchers.

    hierarchy   generalisation hierarchies of quasi-identifiers (levels up to `*`)
    policy      what a release does with each column, read from the contract
    lattice     full-domain generalisation search for k-anonymity and l-diversity
    pseudonyms  per-release keys and pseudonyms derived from the pseudonym master key
    aggregate   geography x category tables with primary and secondary cell suppression
    release     one release of one dataset: extract, aggregates and report figures
    errors      ReleaseError and its subclasses

Depends only on `schemas` (and `desensitize`); the hub reads the warehouse and writes files.
"""

from desensitize.release.errors import (
    ReleaseColumnMissing,
    ReleaseEmpty,
    ReleaseError,
    ReleaseNotPossible,
    ReleaseParameterInvalid,
)

__all__ = [
    "ReleaseColumnMissing",
    "ReleaseEmpty",
    "ReleaseError",
    "ReleaseNotPossible",
    "ReleaseParameterInvalid",
]
