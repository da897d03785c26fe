"""The community data hub: the composition root (settings, pipeline, views, API, CLI, audit)."""
