"""The decision bands: automatic link, a person's review, or nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from hub.linkage.decisions import Decision, Thresholds, decide
from hub.settings import LinkageSettings


def test_bands_and_the_runner_up_rule() -> None:
    # Defaults: auto link from 0.9, review (and the runner-up's floor) from 0.3.
    best = pd.DataFrame({"probability": [0.999, 0.95, 0.7, 0.2, 0.97, 0.96],
                         "runner_up": [0.0, 0.1, 0.0, 0.0, 0.8, 0.35]})
    assert list(decide(best)) == [Decision.LINKED, Decision.LINKED, Decision.REVIEW,
                                  Decision.UNLINKED, Decision.REVIEW, Decision.REVIEW]


def test_thresholds_are_settings() -> None:
    best = pd.DataFrame({"probability": [0.95], "runner_up": [0.0]})
    assert list(decide(best, Thresholds(auto_link=0.99, review_floor=0.6))) == [Decision.REVIEW]
    with pytest.raises(ValueError, match="thresholds"):
        Thresholds(auto_link=0.4, review_floor=0.6)


def test_the_pipeline_and_its_benchmark_decide_with_the_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert Thresholds() == Thresholds.of(LinkageSettings())
    monkeypatch.setenv("HUB_LINKAGE_REVIEW_FLOOR", "0.45")
    monkeypatch.setenv("HUB_LINKAGE_AUTO_LINK", "0.95")
    assert Thresholds.of(LinkageSettings()) == Thresholds(auto_link=0.95, review_floor=0.45)
    best = pd.DataFrame({"probability": [0.96], "runner_up": [0.4]})
    assert list(decide(best, Thresholds.of(LinkageSettings()))) == [Decision.LINKED]
