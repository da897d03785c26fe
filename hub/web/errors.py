"""Errors of console accounts (`hub user ...`).

    AccountError (HubError)
    ├── UserExists        a user of this name exists already
    ├── UserUnknown       no user of this name
    └── PasswordInvalid   a new password is too short or too long

Messages name the user (an account name, not resident data) and the rule, never a password.
"""

from __future__ import annotations

from hub.errors import HubError
from schemas.errors import ExitCode


class AccountError(HubError):
    """Base of the console account errors."""

    status = 400
    exit_code = ExitCode.BAD_INPUT


class UserExists(AccountError):
    status = 409
    exit_code = ExitCode.REFUSED

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user {name} exists already; choose another name or reset its "
                         "password with `hub user reset-password`")


class UserUnknown(AccountError):
    status = 404
    exit_code = ExitCode.REFUSED

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no user {name}; `hub user list` shows the users")


class PasswordInvalid(AccountError):
    def __init__(self, rule: str) -> None:
        self.rule = rule
        super().__init__(f"password refused: {rule}")
