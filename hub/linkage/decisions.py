"""What happens to a scored record: linked, sent to a person, or left where it was.

Above the upper threshold a record links to its best candidate on its own; between the two
thresholds a data steward of the owning department decides; below, the record stays
quarantined. A record whose runner-up also clears the lower threshold is never linked
automatically: two residents fit it, and choosing between them is a person's call.
The thresholds are read off the precision/recall curve that bench B11 measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from hub.settings import LinkageSettings

_DEFAULTS = LinkageSettings.model_fields


class Decision(StrEnum):
    LINKED = "linked"
    REVIEW = "review"
    UNLINKED = "unlinked"


@dataclass(frozen=True)
class Thresholds:
    # One source for the numbers: HUB_LINKAGE_AUTO_LINK and _REVIEW_FLOOR's defaults.
    auto_link: float = float(_DEFAULTS["auto_link"].default)
    review_floor: float = float(_DEFAULTS["review_floor"].default)

    def __post_init__(self) -> None:
        if not 0 < self.review_floor <= self.auto_link < 1:
            raise ValueError("thresholds must satisfy 0 < review floor <= auto link < 1")

    @classmethod
    def of(cls, settings: LinkageSettings) -> Thresholds:
        """The thresholds the pipeline decides with (and B11 judges)."""
        return cls(auto_link=settings.auto_link, review_floor=settings.review_floor)


def decide(best: pd.DataFrame, thresholds: Thresholds | None = None) -> pd.Series:
    """One Decision per row of `best` (columns probability and runner_up)."""
    t = thresholds or Thresholds()
    probability, runner_up = best["probability"], best["runner_up"]
    decision = pd.Series(Decision.UNLINKED.value, index=best.index, dtype=object)
    decision[probability >= t.review_floor] = Decision.REVIEW.value
    clear = (probability >= t.auto_link) & (runner_up < t.review_floor)
    decision[clear] = Decision.LINKED.value
    return decision
