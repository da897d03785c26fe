"""Names of streets, communities and grid cells, from the reference table of the home
(`HUB_HOME/ref/places.csv`: code, level, name), so that a code shows by name wherever the
table has it. Without the table codes show as they are.

The table is read again when the file changes (one stat per use): an administrator replaces
it (`install_places`) without restarting `hub serve`.
"""

from __future__ import annotations

import csv
import shutil
import threading
from pathlib import Path

from hub.settings import HubSettings

PLACES_FILE = Path("ref") / "places.csv"
_lock = threading.Lock()
_cache: dict[Path, tuple[float, dict[str, str]]] = {}


def places_path(settings: HubSettings) -> Path:
    return settings.home / PLACES_FILE


def install_places(settings: HubSettings, table: Path) -> Path:
    """Copy a place-name table (CSV with `code` and `name` columns) into the home."""
    target = places_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".tmp")
    shutil.copyfile(table, partial)
    partial.replace(target)  # readers never see half a table
    return target


def place_names(settings: HubSettings) -> dict[str, str]:
    """code -> name; empty without a table (or with one that does not read)."""
    path = places_path(settings)
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return {}
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            names = {row["code"].strip(): row["name"].strip() for row in csv.DictReader(handle)
                     if row.get("code") and row.get("name")}
    except (OSError, UnicodeError, KeyError, csv.Error):
        names = {}
    with _lock:
        _cache[path] = (stamp, names)
    return names
