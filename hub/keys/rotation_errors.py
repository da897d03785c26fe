"""Errors of a key rotation.

    RotationError (HubError)
    ├── RotationInProgress     a rotation is half done: the worker refuses to open until it ends
    ├── RotationConflict       another kind of rotation is half done: finish that one first
    ├── RotationKeyReference   the key comes from a HUB_*_KEY_REF setting, not the keys folder
    ├── RotationKeyMismatch    the key files do not match the rotation recorded in the warehouse
    ├── RotationUnmappable     rows whose resident or household key cannot be re-keyed
    ├── RotationCopyMismatch   the re-keyed copy of a table differs in rows or keys: not switched
    ├── RotationNotAbortable   --abort after the switch: the data needs the new key now
    └── RotationNothingToDo    --resume or --abort without a half-done rotation

Messages name tables, counts, files and the next command; never a key, an ID or a value.
The API answers 503 while a rotation runs (retry later); `hub keys rotate` exits 1 (refused),
while any other command meeting a half-done rotation exits 4 (the administrator must act).
"""

from __future__ import annotations

from hub.errors import HubError
from schemas.errors import ExitCode


class RotationError(HubError):
    """Base of every key-rotation error."""

    status = 503
    exit_code = ExitCode.REFUSED


class RotationInProgress(RotationError):
    status = 503
    exit_code = ExitCode.CONFIG

    def __init__(self, kind: str, epoch: int, state: str) -> None:
        self.kind = kind
        self.epoch = epoch
        self.state = state
        super().__init__(
            f"a rotation of the {kind} key (epoch {epoch}) is half done (step: {state}); no batch "
            f"may be de-identified until it ends: finish the rotation with "
            f"`hub keys rotate {kind} --resume`"
            + (" (or back out of it with `hub keys rotate --abort`)"
               if state in ABORTABLE_STATES else "")
        )


class RotationConflict(RotationError):
    status = 409

    def __init__(self, wanted: str, pending: str) -> None:
        self.wanted = wanted
        self.pending = pending
        super().__init__(
            f"cannot start a rotation of the {wanted} key: a rotation of the {pending} key is "
            f"half done; finish it first with `hub keys rotate {pending} --resume`"
        )


class RotationKeyReference(RotationError):
    status = 500

    def __init__(self, kind: str, setting: str) -> None:
        self.kind = kind
        self.setting = setting
        super().__init__(
            f"the {kind} key is given by {setting}, not by the key file in the keys folder; "
            f"rotation writes the new key as a file and swaps files, which it cannot do for a "
            f"reference: copy the current key into the keys folder (owner-only, 0600), unset "
            f"{setting}, rotate, then move the new key file where you keep keys and point "
            f"{setting} at it again"
        )


class RotationKeyMismatch(RotationError):
    status = 500

    def __init__(self, kind: str, path: str, problem: str) -> None:
        self.kind = kind
        self.path = path
        self.problem = problem
        super().__init__(
            f"{kind} key file {path}: {problem}; the rotation recorded in the warehouse was made "
            f"with other keys: restore the key files of that rotation (from the keys folder "
            f"backup) and run `hub keys rotate {kind} --resume`"
        )


class RotationUnmappable(RotationError):
    status = 500

    def __init__(self, kind: str, table: str, column: str, count: int, reason: str) -> None:
        self.kind = kind
        self.table = table
        self.column = column
        self.count = count
        self.reason = reason
        super().__init__(
            f"{count} distinct {column} values in {table} cannot be re-keyed ({reason}); the "
            f"rotation was stopped before switching anything and backed out, nothing changed: "
            f"re-ingest a current extract of the dataset so that every key has its vault entry, "
            f"then rotate again"
        )


class RotationCopyMismatch(RotationError):
    """A table's re-keyed copy would not match the original: the switch stops before it."""

    status = 500

    def __init__(self, kind: str, table: str, next_step: str) -> None:
        self.kind = kind
        self.table = table
        super().__init__(
            f"{table}: the copy re-keyed for the {kind} rotation differs from it in rows or "
            f"keys; nothing was switched: {next_step}"
        )


class RotationNotAbortable(RotationError):
    status = 409

    def __init__(self, kind: str, state: str) -> None:
        self.kind = kind
        self.state = state
        super().__init__(
            f"the rotation of the {kind} key has switched the warehouse to the new key (step: "
            f"{state}); it can no longer be backed out: finish it with "
            f"`hub keys rotate {kind} --resume`"
        )


class RotationNothingToDo(RotationError):
    status = 409

    def __init__(self, action: str) -> None:
        self.action = action
        super().__init__(f"no key rotation is half done: nothing to {action}; start one with "
                         "`hub keys rotate vault` or `hub keys rotate pseudonym`")


# States before the switch: the old key still rules every row, so backing out is safe.
ABORTABLE_STATES = ("preparing", "history", "ready")
