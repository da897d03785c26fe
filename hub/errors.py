"""Errors raised by the hub's composition root (pipeline, warehouse, state store).

    HubError (DataHubError)
    ├── WarehouseBusy        another process holds the warehouse writer lock (names the holder)
    ├── WarehouseError       the warehouse file cannot be opened or written
    ├── IngestRejected       a batch was read but rejected whole (bad-row share over threshold,
    │                        no data rows); carries the batch id and top reasons
    ├── StateStoreError      the state store cannot be opened or written
    ├── PlaceTableInvalid    a place-name table does not read (names the row and the rule)
    ├── ServeRefused         `hub serve` will not start on this home (keys, rotation, settings)
    └── IngestWorkerLost     an ingest worker process died during a batch; the batch failed

Package errors (schemas, connectors, desensitize, catalog) pass through unchanged: every one
derives from schemas.errors.DataHubError and carries its HTTP status and CLI exit code, which
the API (hub.api.problems) and the CLI (hub.cli.terminal) read. Messages never carry a value.
"""

from __future__ import annotations

from schemas.errors import DataHubError, ExitCode


class HubError(DataHubError):
    """Base of every error raised by `hub`."""

    status = 500
    exit_code = ExitCode.CONFIG


class WarehouseBusy(HubError):
    status = 503
    exit_code = ExitCode.BUSY

    def __init__(self, path: str, holder: str) -> None:
        self.path = path
        self.holder = holder
        super().__init__(
            f"the warehouse {path} is being written by {holder}; only one pipeline worker may "
            "write it: wait for that process to finish, or send the extract to it "
            "(`hub serve` takes uploads) instead of starting a second writer"
        )


class WarehouseError(HubError):
    status = 503

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"warehouse {path}: {problem}")


class IngestRejected(HubError):
    status = 422
    exit_code = ExitCode.REFUSED

    def __init__(self, batch_id: str, dataset: str, reason: str) -> None:
        self.batch_id = batch_id
        self.dataset = dataset
        self.reason = reason
        super().__init__(
            f"batch {batch_id} of {dataset} was rejected: {reason}; nothing of it was loaded "
            f"(see `hub batches` and the row report)"
        )


class StateStoreError(HubError):
    status = 503

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"state store {url}: {problem}")


class ServeRefused(HubError):
    status = 503

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"hub serve refuses to start: {problem}")


class PlaceTableInvalid(HubError):
    status = 422
    exit_code = ExitCode.BAD_INPUT

    def __init__(self, file_name: str, row: int, rule: str) -> None:
        self.file_name = file_name
        self.row = row
        self.rule = rule
        where = f"row {row}" if row else "its header"
        super().__init__(
            f"the place-name table {file_name} was not installed: {where} {rule}; the table "
            "in use is unchanged. Fix the file (UTF-8 CSV with columns code and name) and load "
            "it again"
        )


class IngestWorkerLost(HubError):
    status = 503

    def __init__(self, batch_id: str, processes: int) -> None:
        self.batch_id = batch_id
        self.processes = processes
        super().__init__(
            f"batch {batch_id} failed: one of the {processes} ingest worker processes ended "
            "before its chunk was prepared (killed, or out of memory); nothing of the batch "
            "was loaded. Send the extract again; if it happens again, lower "
            "HUB_INGEST_WORKERS or HUB_CHUNK_ROWS, or give the pipeline worker more memory"
        )
