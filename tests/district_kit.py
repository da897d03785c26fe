"""A demo district ingested and published into a hub home: the set-up many test folders share."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from hub.api.places import install_places
from hub.demo import DemoManifest
from hub.demo.places import PLACES_NAME
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings

DATASETS = ["grid", "elderly_care", "medical", "employment"]


def ingest_and_publish(settings: HubSettings, demo: DemoManifest,
                       today: date | None = None) -> dict[str, Any]:
    """Every department's extract loaded (each must load), the crosswalk, one publish."""
    with PipelineWorker(settings) as worker:
        for name in DATASETS:
            extract = demo.datasets[name]
            result = worker.ingest(Path(extract.source_yaml), Path(extract.path))
            assert result.outcome == "loaded", (name, result.reason)
        worker.load_crosswalk(demo.crosswalk)
        install_places(settings, Path(demo.crosswalk).with_name(PLACES_NAME))
        return worker.publish(today=today) if today is not None else worker.publish()


def warehouse_rows(settings: HubSettings, sql: str, params: list[Any] | None = None
                   ) -> list[Any]:
    """Rows of one query on the home's warehouse, opened read-only."""
    import duckdb

    con = duckdb.connect(str(settings.warehouse_path), read_only=True,
                         config={"autoinstall_known_extensions": False})
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
