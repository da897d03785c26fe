"""Errors of the evidence log.

    AuditError (HubError)
    ├── AuditWriteFailed     a record could not be written: the request must return no data
    │   └── AuditWriterBusy  another process held the write lock throughout (nothing written)
    ├── AuditUnavailable     the log cannot be read (verify, search)
    ├── AuditConfigInvalid   an audit setting (environment variable) has a value it cannot take
    ├── CheckpointInvalid    a checkpoint file cannot be read or written, or is malformed
    └── WitnessFetchFailed   `hub audit fetch-checkpoints` could not copy the checkpoints

Messages name the state store (password hidden) or the file and the next step; never a value.
"""

from __future__ import annotations

from hub.errors import HubError
from schemas.errors import ExitCode


class AuditError(HubError):
    """Base of every evidence-log error."""

    status = 503


class AuditWriteFailed(AuditError):
    status = 503

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(
            f"audit record could not be written to {url} ({problem}); no data may be returned "
            "without its record: check the state store's disk and locks, then retry")


class AuditWriterBusy(AuditWriteFailed):
    """Nothing was written: another process held the state store's write lock. A writer
    tries again until its patience runs out, then this is its AuditWriteFailed."""


class WriteLockBusy(AuditError):
    """Another process holds the state store's write lock and nothing was written: the
    writer's signal to its caller, which waits and tries again (AuditWriterBusy when its
    patience runs out)."""

    status = 503
    exit_code = ExitCode.BUSY

    def __init__(self) -> None:
        super().__init__("another process holds the state store's write lock; nothing was "
                         "written: try again")


class AuditUnavailable(AuditError):
    status = 503

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"audit log in {url} cannot be read ({problem}); run `hub init`, "
                         "or check that the state store is reachable")


class AuditConfigInvalid(AuditError):
    status = 500  # fixed by the operator, not the caller

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"audit setting {setting} {problem}; fix it in the environment of "
                         "the API and CLI, then restart")


class CheckpointInvalid(AuditError):
    status = 500

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"audit checkpoint {path}: {problem}")


class WitnessFetchFailed(AuditError):
    status = 502  # the CLI's fetch from a hub; never raised inside the API

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"checkpoints not fetched: {problem}")
