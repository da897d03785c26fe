"""Errors of writing a safe release to files (the release itself: desensitize.release.errors).

    HubError
    └── ExportError
        ├── ExportFormatUnsupported  the output file's suffix is neither .csv nor .parquet
        └── ExportTargetExists       an output file exists and --force was not given
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.errors import HubError


class ExportError(HubError):
    """A release could not be written."""


class ExportFormatUnsupported(ExportError):
    def __init__(self, suffix: str, allowed: Sequence[str]) -> None:
        self.suffix = suffix
        self.allowed = tuple(allowed)
        super().__init__(
            f"cannot write a release as '{suffix or '(no suffix)'}'; name the output file "
            f"with one of: {', '.join(self.allowed)}"
        )


class ExportTargetExists(ExportError):
    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        super().__init__(
            f"{', '.join(self.paths)} already exist(s); choose another --out or pass --force "
            "to replace them"
        )
