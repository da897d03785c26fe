"""Contract version history: what changed between versions of a dataset's contract.

Every contract version the pipeline ever registered is kept in `catalog_contract_versions`
with its catalog entry. The history pairs each version with the one before it: the owner's
own words (`changes` in the contract) and a column diff computed from the two entries, so an
auditor sees a changed sensitivity or a dropped column even when the note forgot it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from catalog.store import CatalogStore, contract_versions

# Column attributes whose change matters to a reader of the catalog.
COMPARED = ("type", "curated_name", "required", "nullable", "sensitivity", "sharing", "deid")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def diff_entries(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Columns added, removed and changed (attribute: [before, after]) from `old` to `new`."""
    new_cols = {c["name"]: c for c in new.get("columns", [])}
    if old is None:
        return {"added": sorted(new_cols), "removed": [], "changed": {}, "dataset": {}}
    old_cols = {c["name"]: c for c in old.get("columns", [])}
    changed: dict[str, dict[str, list[Any]]] = {}
    for name in sorted(set(old_cols) & set(new_cols)):
        diffs = {attr: [old_cols[name].get(attr), new_cols[name].get(attr)]
                 for attr in COMPARED if old_cols[name].get(attr) != new_cols[name].get(attr)}
        if diffs:
            changed[name] = diffs
    dataset = {attr: [old.get(attr), new.get(attr)]
               for attr in ("sharing", "update_frequency_days", "owner", "unique",
                            "bad_row_threshold")
               if old.get(attr) != new.get(attr)}
    return {
        "added": sorted(set(new_cols) - set(old_cols)),
        "removed": sorted(set(old_cols) - set(new_cols)),
        "changed": changed,
        "dataset": dataset,
    }


def version_history(store: CatalogStore, dataset: str) -> list[dict[str, Any]]:
    """Versions oldest first, each with its note, registration time and the diff to the last."""
    query = select(contract_versions).where(contract_versions.c.dataset == dataset)
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    rows.sort(key=lambda r: _version_key(r["version"]))
    history: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for row in rows:
        entry = row["entry"]
        history.append({
            "version": row["version"],
            "registered_at": row["registered_at"].isoformat() if row["registered_at"] else None,
            "note": entry.get("changes", {}).get(row["version"], ""),
            "previous_version": previous["version"] if previous else None,
            "diff": diff_entries(previous, entry),
        })
        previous = entry
    return history
