"""Fixtures of the connectors tests; the sample extract and writers live in extract_samples."""

from extract_samples import api, api_server

__all__ = ["api", "api_server"]
