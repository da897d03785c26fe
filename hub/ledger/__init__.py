"""The assistance ledger: every benefit of every department as one fact (see `build`)."""

from hub.ledger.build import LEDGER_TABLE, rebuild_ledger
from hub.ledger.current import CURRENT_BATCHES_SQL, current_batches, current_rows_sql

__all__ = [
    "CURRENT_BATCHES_SQL",
    "LEDGER_TABLE",
    "current_batches",
    "current_rows_sql",
    "rebuild_ledger",
]
