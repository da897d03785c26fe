"""Data quality: an expectation suite per contract run on every committed batch, the
cross-department consistency findings, and the value-free reports written from their results
(`hook` is the step the pipeline worker runs after each commit)."""
