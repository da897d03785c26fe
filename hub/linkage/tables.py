"""The warehouse tables the linkage fills, named once for the rooms that write and read them.

    quarantine."sealed_<dataset>"   rows whose ID failed its rules, de-identified, no resident
    vault.sealed                     their identifiers, encrypted per (field, candidate key)
    linkage.decisions                one scored decision per sealed row
    linkage.registry_duplicates      registry residents probably one person under two IDs
"""

from __future__ import annotations

SEALED_VAULT = "vault.sealed"
DECISIONS = "linkage.decisions"
REGISTRY_DUPLICATES = "linkage.registry_duplicates"


def sealed_table(dataset: str) -> str:
    """The warehouse table of a dataset's rows sealed for linkage."""
    return f'quarantine."sealed_{dataset}"'
