"""Errors raised by the catalog.

    CatalogError (DataHubError)
    ├── DatasetUnknown     no catalog entry for the dataset (names it and the known ones)
    └── CatalogUnavailable the state store cannot be opened or written (names the URL,
                           without credentials)
"""

from __future__ import annotations

from schemas.errors import DataHubError, ExitCode


class CatalogError(DataHubError):
    """Base of every error raised by `catalog`."""

    status = 500
    exit_code = ExitCode.CONFIG


class DatasetUnknown(CatalogError):
    status = 404
    exit_code = ExitCode.BAD_INPUT

    def __init__(self, dataset: str, known: list[str]) -> None:
        self.dataset = dataset
        self.known = known
        super().__init__(f"dataset '{dataset}' is not in the catalog; known: {', '.join(known)}")


class CatalogUnavailable(CatalogError):
    status = 503

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"catalog store {url} is unavailable: {problem}; check HUB_STATE_URL "
                         "and that the folder is writable")
