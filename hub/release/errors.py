"""Errors of writing a safe release to files (the release itself: desensitize.release.errors).

    HubError (DataHubError)
    └── ExportError
        ├── ExportFormatUnsupported  the output file's suffix is neither .csv nor .parquet
        └── ExportTargetExists       an output file exists and --force was not given
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.errors import HubError
from schemas.errors import ExitCode


class ExportError(HubError):
    """A release could not be written."""

    status = 500
    exit_code = ExitCode.BAD_INPUT


class ExportFormatUnsupported(ExportError):
    status = 400

    def __init__(self, suffix: str, allowed: Sequence[str]) -> None:
        self.suffix = suffix
        self.allowed = tuple(allowed)
        super().__init__(
            f"cannot write a release as '{suffix or '(no suffix)'}'; name the output file "
            f"with one of: {', '.join(self.allowed)}"
        )


class ExportTargetExists(ExportError):
    status = 409

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        super().__init__(
            f"{', '.join(self.paths)} already exist(s); choose another --out or pass --force "
            "to replace them"
        )
