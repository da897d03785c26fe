"""The decision bands: automatic link, a person's review, or nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from hub.linkage.decisions import Decision, Thresholds, decide


def test_bands_and_the_runner_up_rule() -> None:
    best = pd.DataFrame({"probability": [0.999, 0.95, 0.7, 0.3, 0.97],
                         "runner_up": [0.0, 0.1, 0.0, 0.0, 0.8]})
    assert list(decide(best)) == [Decision.LINKED, Decision.LINKED, Decision.REVIEW,
                                  Decision.UNLINKED, Decision.REVIEW]


def test_thresholds_are_settings() -> None:
    best = pd.DataFrame({"probability": [0.95], "runner_up": [0.0]})
    assert list(decide(best, Thresholds(auto_link=0.99, review_floor=0.6))) == [Decision.REVIEW]
    with pytest.raises(ValueError, match="thresholds"):
        Thresholds(auto_link=0.4, review_floor=0.6)
