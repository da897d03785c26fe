"""The quality step of the pipeline worker, run after each batch's warehouse commit.

Checks the batch (Great Expectations on its curated rows; the quarantine summary for a
rejected batch), stores the result, refreshes the cross-department findings and rewrites this
batch's report, its dataset page and the district overview. The batch is already committed:
a failure here is logged (batch id and error class, no data) and never undoes the ingest.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from catalog.quality_store import QualityStore
from catalog.store import CatalogStore
from hub.quality.consistency import find_conflicts
from hub.quality.overview import write_batch_report, write_dataset_report, write_overview
from hub.quality.runner import check_batch
from hub.settings import HubSettings
from hub.warehouse.store import Warehouse
from schemas.registry import all_contracts, get_contract

log = logging.getLogger(__name__)
CHECKED_OUTCOMES = ("loaded", "rejected", "awaiting_confirmation")


def fill_missing_results(settings: HubSettings, warehouse: Warehouse, catalog: CatalogStore,
                         today: date | None = None) -> list[str]:
    """Run the quality step for every committed batch without a result (a worker killed
    between the warehouse commit and the quality step); returns their ids."""
    quality = QualityStore(catalog.engine)
    known = {r["batch_id"] for r in quality.batch_results()}
    missing = [b["batch_id"] for b in reversed(catalog.list_batches(limit=1_000_000))
               if b["outcome"] in CHECKED_OUTCOMES and b["batch_id"] not in known]
    return [batch_id for batch_id in missing
            if check_committed_batch(settings, warehouse, catalog, batch_id, today) is not None]


def check_committed_batch(settings: HubSettings, warehouse: Warehouse, catalog: CatalogStore,
                          batch_id: str, today: date | None = None) -> dict[str, Any] | None:
    """Run the quality step for one committed batch; returns its result, None if skipped."""
    today = today or date.today()
    batch = catalog.get_batch(batch_id)
    if batch is None or batch["outcome"] not in CHECKED_OUTCOMES:
        return None
    try:
        result = check_batch(warehouse.con, get_contract(batch["dataset"]), batch, today)
        quality = QualityStore(catalog.engine)
        quality.record_batch_result(result)
        if batch["outcome"] == "loaded":
            kinds, findings = find_conflicts(warehouse.con, all_contracts())
            quality.refresh_findings(kinds, findings)
        out = settings.reports_dir
        write_batch_report(result, out)
        write_dataset_report(catalog, batch["dataset"], today, out)
        write_overview(catalog, quality, today, out)
    except Exception as exc:
        log.warning("quality step failed for batch %s (%s); the batch stays loaded, rerun "
                    "`hub quality report` after fixing", batch_id, exc.__class__.__name__)
        return None
    return result
