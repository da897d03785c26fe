"""Which load mode a batch gets, and how a held snapshot is judged (no warehouse needed)."""

from __future__ import annotations

import pytest

from connectors.errors import LoadModeNotAllowed
from connectors.source import SourceSpec
from hub.pipeline.load_modes import describe_change, drop_share, resolve_mode


def _spec(**extra: object) -> SourceSpec:
    return SourceSpec.model_validate({"name": "grid_test", "department": "grid",
                                      "dataset": "grid", "format": "csv",
                                      "columns": {"resident_id": "身份证号"}, **extra})


def test_a_batch_gets_its_sources_mode_unless_it_asks_for_an_allowed_one() -> None:
    assert resolve_mode(_spec(), None) == "snapshot"
    assert resolve_mode(_spec(load="delta"), None) == "delta"
    both = _spec(load_modes=["snapshot", "delta"])
    assert resolve_mode(both, "delta") == "delta"
    with pytest.raises(LoadModeNotAllowed) as err:
        resolve_mode(_spec(), "delta")
    assert "YAML" not in str(err.value)
    with pytest.raises(LoadModeNotAllowed) as err:
        resolve_mode(both, "<script>")
    assert "<script>" not in str(err.value)  # what the caller sent is never echoed


def test_a_source_cannot_allow_modes_without_its_own() -> None:
    with pytest.raises(ValueError, match="load_modes"):
        _spec(load="delta", load_modes=["snapshot"])


def test_the_drop_is_the_larger_of_rows_and_residents() -> None:
    change = {"rows_current": 100, "rows_dropped": 10, "residents_current": 20,
              "residents_dropped": 8, "rows_replaced": 90, "rows_added": 0,
              "current_batches": ["grid-1"]}
    assert drop_share(change) == pytest.approx(0.4)
    assert "replaces all 100 current rows" in describe_change("snapshot", change)
    assert "replaces 90 rows" in describe_change("delta", change)
    first = {**change, "rows_current": 0, "residents_current": 0, "current_batches": []}
    assert drop_share(first) == 0.0
    assert "first data" in describe_change("snapshot", first)
