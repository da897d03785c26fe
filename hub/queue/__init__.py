"""The job queues in the state store: the transitions the upload queue (hub.pipeline.jobs) and
the export queue (hub.release.jobs) share."""
