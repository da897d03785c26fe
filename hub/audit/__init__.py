"""The evidence log: a hash-chained, append-only record of every resident-level request."""
