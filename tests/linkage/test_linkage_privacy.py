"""The linkage writes nothing in plaintext: its warehouse tables (sealed rows, sealed vault,
decisions, registry duplicates, the registry's keyed blocking index, the trained models),
the review items in the state store and the ledger's provenance columns carry keys,
probabilities, level labels, keyed hashes and masked values only."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import duckdb

from tests.conftest import DemoDistrict
from tests.privacy_scan import Needles, privacy_hits

WAREHOUSE_OUTPUTS = (
    'quarantine."sealed_elderly_care"', 'quarantine."sealed_medical"',
    'quarantine."sealed_employment"', "vault.sealed", "linkage.decisions",
    "linkage.registry_duplicates", "linkage.registry_blocks", "linkage.registry_inputs",
    "linkage.registry_index", "linkage.models",
    "(SELECT linked_by, match_probability, linked_on FROM curated.assistance_ledger)",
)


def test_no_identifier_in_any_linkage_output(demo_district: DemoDistrict) -> None:
    settings = demo_district.settings
    needles = Needles.of(demo_district.demo)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True,
                         config={"autoinstall_known_extensions": False})
    try:
        sealed = con.execute('SELECT count(*) FROM quarantine."sealed_elderly_care"').fetchall()
        assert sealed[0][0] > 0  # there is something to scan
        found = {}
        for table in WAREHOUSE_OUTPUTS:
            rows = con.execute(f"SELECT * FROM {table}").fetchall()
            text = "\n".join(str(v) if not isinstance(v, bytes) else v.hex()
                             for row in rows for v in row).encode()
            raw = b"".join(v for row in rows for v in row if isinstance(v, bytes))
            hits = privacy_hits(text, needles) + privacy_hits(raw, needles)
            if hits:
                found[table] = hits[:5]
        assert found == {}
    finally:
        con.close()
    with closing(sqlite3.connect(f"file:{settings.state_dir / 'state.sqlite'}?mode=ro",
                                 uri=True)) as state:
        reviews = state.execute("SELECT * FROM linkage_reviews").fetchall()
    assert reviews
    assert privacy_hits("\n".join(map(str, reviews)).encode(), needles) == []
