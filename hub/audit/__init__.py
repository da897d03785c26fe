"""The evidence log: a hash-chained, append-only record of every resident-level request, and the
per-actor rate limit of a sensitive action, counted from that log (hub.audit.ratelimit)."""
