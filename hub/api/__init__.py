"""The HTTP API of the hub (FastAPI): `create_app` builds it; `hub serve` runs it."""
