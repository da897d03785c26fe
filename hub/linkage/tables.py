"""The warehouse tables the linkage fills, named once for the rooms that write and read them.

    quarantine."sealed_<dataset>"   rows whose ID failed its rules, de-identified, no resident
    vault.sealed                     their identifiers, encrypted per (field, candidate key)
    linkage.decisions                one scored decision per sealed row
    linkage.registry_duplicates      registry residents probably one person under two IDs
    linkage.registry_blocks          each registry resident's keyed blocking values
    linkage.registry_inputs          what each resident's blocking values were made from,
                                     and its comparison forms, sealed
    linkage.registry_index           the key, rules and registry version they were made with
    linkage.models                   trained models (probabilities only) per registry version
"""

from __future__ import annotations

SEALED_VAULT = "vault.sealed"
DECISIONS = "linkage.decisions"
REGISTRY_DUPLICATES = "linkage.registry_duplicates"
REGISTRY_BLOCKS = "linkage.registry_blocks"
REGISTRY_INPUTS = "linkage.registry_inputs"
REGISTRY_INDEX = "linkage.registry_index"
MODELS = "linkage.models"

# The registry's blocking index (hub.pipeline.registry_index): keyed hashes (never a value),
# the digest of the vault entries and registry row each resident's hashes were made from
# (a changed digest reopens that resident only), and one row saying under which key, rules
# and registry version. Nothing in them opens without the vault key.
INDEX_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {REGISTRY_BLOCKS} (
        resident_key VARCHAR NOT NULL,
        rule VARCHAR NOT NULL,
        block BIGINT NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS {REGISTRY_INPUTS} (
        resident_key VARCHAR NOT NULL,
        household_key VARCHAR,
        digest VARCHAR NOT NULL,
        forms BLOB
    )""",
    # Indexes made before the sealed comparison forms (hub.pipeline.registry_forms): the
    # index's digest of its layout differs, so the next refresh rebuilds them with forms.
    f"ALTER TABLE {REGISTRY_INPUTS} ADD COLUMN IF NOT EXISTS forms BLOB",
    f"""CREATE TABLE IF NOT EXISTS {REGISTRY_INDEX} (
        key_check VARCHAR NOT NULL,
        rules VARCHAR NOT NULL,
        version VARCHAR NOT NULL,
        residents BIGINT NOT NULL,
        refreshed_at TIMESTAMPTZ NOT NULL
    )""",
    # Splink's model JSON: m/u probabilities and the prior, no record of anyone.
    f"""CREATE TABLE IF NOT EXISTS {MODELS} (
        spec VARCHAR NOT NULL,
        version VARCHAR NOT NULL,
        model JSON NOT NULL,
        made_at TIMESTAMPTZ NOT NULL
    )""",
)
# Tables whose rows a new pseudonym key leaves pointing at residents under old keys; they
# are emptied by the rotation's switch and rebuilt at the next linkage.
INDEX_TABLES = (REGISTRY_BLOCKS, REGISTRY_INPUTS, REGISTRY_INDEX, MODELS)


def sealed_table(dataset: str) -> str:
    """The warehouse table of a dataset's rows sealed for linkage."""
    return f'quarantine."sealed_{dataset}"'
