"""Errors raised by the catalog.

    CatalogError
    ├── DatasetUnknown     no catalog entry for the dataset (names it and the known ones)
    └── CatalogUnavailable the state store cannot be opened or written (names the URL,
                           without credentials)
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base of every error raised by `catalog`."""


class DatasetUnknown(CatalogError):
    def __init__(self, dataset: str, known: list[str]) -> None:
        self.dataset = dataset
        self.known = known
        super().__init__(f"dataset '{dataset}' is not in the catalog; known: {', '.join(known)}")


class CatalogUnavailable(CatalogError):
    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"catalog store {url} is unavailable: {problem}; check HUB_STATE_URL "
                         "and that the folder is writable")
