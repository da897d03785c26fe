"""Row-level issues: the shared shape of 'row N, column C broke rule R'.

Every stage that finds a bad cell reports it as a row of an issues frame with exactly these
columns. Issues never hold a cell value, only where it is and which rule it broke, so they can
be stored, logged and shown to the sending department without exposing anyone.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

ISSUE_COLUMNS = ["source_row", "column", "rule"]
ROW_COLUMN = "*"  # `column` value for issues about the whole row (malformed, duplicate key)


def empty_issues() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_row": pd.Series([], dtype="int64"),
            "column": pd.Series([], dtype="string"),
            "rule": pd.Series([], dtype="string"),
        }
    )


def issues_for(rows: Iterable[int] | np.ndarray | pd.Index, column: str, rule: str) -> pd.DataFrame:
    """One issue per row in `rows`, all for the same column and rule."""
    arr = np.asarray(list(rows) if not isinstance(rows, (np.ndarray, pd.Index)) else rows,
                     dtype="int64")
    return pd.DataFrame(
        {
            "source_row": arr,
            "column": pd.Series([column] * len(arr), dtype="string"),
            "rule": pd.Series([rule] * len(arr), dtype="string"),
        }
    )


def concat_issues(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    parts = [f for f in frames if len(f)]
    if not parts:
        return empty_issues()
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"source_row": "int64", "column": "string", "rule": "string"})
