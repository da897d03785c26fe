"""What `hub demo` says about the linkage: how the rows without a usable ID ended, and the
demo resident whose elderly-care rows all carry a mistyped ID, to look up and see matched.

The demo district is synthetic, so printing its ID number is the point (as for the other
suggested look-up); a real installation never does this.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from hub.settings import HubSettings


def matched_resident(settings: HubSettings, manifest: Any) -> tuple[str, int, str] | None:
    """(raw ID from the grid extract, matched facts, probability) of the resident with the
    most elderly-care facts linked by a match."""
    import duckdb
    import pandas as pd

    from desensitize.pseudonym import Pseudonymiser
    from hub.keys.config import load_keyring
    from schemas.identity import normalise_resident_id

    con = duckdb.connect(str(settings.warehouse_path), read_only=True,
                         config={"autoinstall_known_extensions": False})
    try:
        row = con.execute("""SELECT resident_key, count(*) AS facts, max(match_probability)
            FROM curated.assistance_ledger
            WHERE linked_by = 'match' AND source_dataset = 'elderly_care'
            GROUP BY resident_key ORDER BY facts DESC, resident_key LIMIT 1""").fetchall()
    finally:
        con.close()
    if not row:
        return None
    key, facts, probability = row[0]
    grid = pd.read_csv(manifest.datasets["grid"].path, dtype=str, encoding="utf-8")
    ids = normalise_resident_id(grid["身份证号"].astype("string"), manifest.today).values
    with Pseudonymiser(load_keyring(settings).pseudonym_key) as p:
        keys = p.pseudonymise(ids, "resident_id")
    hits = grid.loc[(keys == key).fillna(False).to_numpy(dtype=bool), "身份证号"]
    return (str(hits.iloc[0]), int(facts), str(probability)) if len(hits) else None


def print_linkage(settings: HubSettings, manifest: Any, published: dict[str, Any],
                  console: Console) -> None:
    counts = published.get("linkage") or {}
    if counts.get("candidates"):
        console.print(
            f"linkage: {counts['candidates']} rows without a usable ID number: "
            f"{counts.get('linked', 0)} linked by match, {counts.get('review', 0)} waiting for "
            f"the department's review (GET /v1/linkage/reviews), {counts.get('unlinked', 0)} "
            "stay quarantined")
    found = matched_resident(settings, manifest)
    if found is not None:
        raw_id, facts, probability = found
        console.print(
            f"matched: resident {raw_id} has {facts} elderly-care facts whose rows carry a "
            f"mistyped ID, linked by match (probability {probability}); look them up like "
            "the resident below, with this ID number", markup=False, soft_wrap=True)
