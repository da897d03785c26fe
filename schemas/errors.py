"""The project's error root, and the errors raised while loading or applying a contract.

Every error the project raises on purpose derives from DataHubError, which lives here because
schemas is the one package every other package may depend on. Each class carries what the
two front doors need: `status` (the API's HTTP status), `slug` (the problem type, the last
part of its URL; derived from the class name unless set) and `exit_code` (the CLI's, one of
ExitCode). A subclass inherits status and exit code from its parent unless it sets its own.

    DataHubError                  the root: schemas, connectors, desensitize, catalog, hub
    └── SchemaError
        ├── ContractNotFound      no contract file for the dataset name
        ├── ContractInvalid       a contract file breaks the contract format itself
        └── ContractViolation     an extract breaks a contract (missing column, uncoercible type)

Messages name the dataset, contract version and column, and say what to do next.
They never carry a data value.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What every `hub` command exits with (the table in README.md)."""

    OK = 0
    REFUSED = 1  # the command ran and the answer is no: rejected, not possible, refused
    BAD_INPUT = 2  # the file, the request or its parameters are wrong: fix them and retry
    BUSY = 3  # another process writes the warehouse: wait for it or hand the work to it
    CONFIG = 4  # settings, keys, state store or warehouse need the administrator


def problem_slug(class_name: str) -> str:
    """`KeyFileInsecure` -> `key-file-insecure`."""
    return "".join("-" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(class_name))


class DataHubError(Exception):
    """Root of every error the project raises on purpose.

    Messages name ids, files, fields, rules and the next step; never a data value."""

    status: int = 500
    slug: str = "data-hub-error"
    exit_code: ExitCode = ExitCode.CONFIG

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "slug" not in cls.__dict__:  # each class its own problem type, never its parent's
            cls.slug = problem_slug(cls.__name__)


class SchemaError(DataHubError):
    """Base of every error raised by `schemas`."""

    status = 500
    exit_code = ExitCode.BAD_INPUT


class ContractNotFound(SchemaError):
    status = 404

    def __init__(self, dataset: str, known: list[str]) -> None:
        self.dataset = dataset
        self.known = known
        super().__init__(
            f"no contract for dataset '{dataset}'; known datasets: {', '.join(sorted(known))}"
        )


class ContractInvalid(SchemaError):
    status = 500  # a broken contract on the server, not the caller's

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"contract file {source} is invalid: {problem}; fix the file and reload")


class ContractViolation(SchemaError):
    """An extract cannot be read against the contract at all (not a row-level problem)."""

    status = 422

    def __init__(
        self, dataset: str, version: str, column: str, rule: str, detail: str = ""
    ) -> None:
        self.dataset = dataset
        self.version = version
        self.column = column
        self.rule = rule
        self.detail = detail
        extra = f": {detail}" if detail else ""
        super().__init__(
            f"extract breaks contract {dataset} v{version}: column '{column}' fails rule "
            f"'{rule}'{extra}; fix the source mapping or the extract and upload again"
        )
