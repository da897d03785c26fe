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

from hub.errors import PlaceTableInvalid
from hub.settings import HubSettings

PLACES_FILE = Path("ref") / "places.csv"
_lock = threading.Lock()
_cache: dict[Path, tuple[float, dict[str, str]]] = {}


def places_path(settings: HubSettings) -> Path:
    return settings.home / PLACES_FILE


MAX_NAME = 60  # characters: the longest street or community names are far shorter


def check_places(table: Path) -> int:
    """The number of places in a table, or PlaceTableInvalid naming the first bad row (as
    the file numbers it: the header is row 1) and the rule; never a value."""
    try:
        with table.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not {"code", "name"} <= set(reader.fieldnames or ()):
                raise PlaceTableInvalid(table.name, 0, "lacks the columns code and name")
            seen: set[str] = set()
            for row_number, row in enumerate(reader, start=2):
                code, name = (row.get("code") or "").strip(), (row.get("name") or "").strip()
                if not code.isdigit() or not code.isascii():
                    raise PlaceTableInvalid(table.name, row_number, "has a code that is not "
                                            "all digits (a street, community or grid code)")
                if not name or len(name) > MAX_NAME:
                    raise PlaceTableInvalid(table.name, row_number, "has an empty name or "
                                            f"one longer than {MAX_NAME} characters")
                if code in seen:
                    raise PlaceTableInvalid(table.name, row_number, "repeats a code of an "
                                            "earlier row")
                seen.add(code)
    except UnicodeError:
        raise PlaceTableInvalid(table.name, 0, "is not UTF-8 text") from None
    except csv.Error:
        raise PlaceTableInvalid(table.name, 0, "is not a CSV table") from None
    return len(seen)


def install_places(settings: HubSettings, table: Path) -> Path:
    """Check a place-name table (CSV with `code` and `name` columns) and copy it into the
    home; a table that does not pass leaves the one in use as it was."""
    check_places(table)
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
