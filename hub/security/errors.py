"""Errors of access control (tokens, scopes, purposes).

    SecurityError (HubError)
    ├── PurposeRequired      a resident-level read came without a purpose (HTTP 400)
    ├── PurposeInvalid       the purpose is not one of the fixed list (HTTP 400)
    ├── RoleInvalid          a token was asked for with an unknown role
    ├── ScopeInvalid         a token scope does not fit its role (bad street code, unknown dataset)
    ├── TokenNameInvalid     a token name is empty, too long or has control characters
    ├── TokenLifetimeInvalid a token was asked for with a lifetime that is not e.g. 90d
    ├── TokenExpired         a valid token past its end (HTTP 401, problem `token-expired`)
    └── TokenStoreUnavailable the token table cannot be read or written

Messages list what is allowed and never echo what the caller sent: a purpose or scope field
typed by a person may contain anything, including an ID number.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.errors import HubError
from schemas.errors import ExitCode


class SecurityError(HubError):
    """Base of every access-control error."""

    status = 403


class PurposeRequired(SecurityError):
    status = 400

    def __init__(self, allowed: Sequence[str]) -> None:
        self.allowed = tuple(allowed)
        super().__init__(
            "every resident-level read needs a purpose; send one of: " + ", ".join(self.allowed))


class PurposeInvalid(SecurityError):
    status = 400

    def __init__(self, allowed: Sequence[str]) -> None:
        self.allowed = tuple(allowed)
        super().__init__(
            "the purpose is not on the fixed list; send one of: " + ", ".join(self.allowed))


class RoleInvalid(SecurityError):
    status = 400

    def __init__(self, allowed: Sequence[str]) -> None:
        self.allowed = tuple(allowed)
        super().__init__("unknown role; use one of: " + ", ".join(self.allowed))


class ScopeInvalid(SecurityError):
    status = 400

    def __init__(self, role: str, problem: str) -> None:
        self.role = role
        self.problem = problem
        super().__init__(f"scope does not fit role {role}: {problem}")


class TokenNameInvalid(SecurityError):
    status = 400

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"token name {problem}; give a short label such as 'street-110105001'")


class TokenLifetimeInvalid(SecurityError):
    status = 400
    exit_code = ExitCode.BAD_INPUT

    def __init__(self, longest_days: int) -> None:
        self.longest_days = longest_days
        super().__init__("token lifetime: give a number with d (days), w (weeks) or h (hours), "
                         f"such as 90d, 2w or 12h, at most {longest_days}d")


class TokenExpired(SecurityError):
    status = 401

    def __init__(self, token_id: str, expired_at: str) -> None:
        self.token_id = token_id
        self.expired_at = expired_at
        super().__init__(f"token {token_id} expired at {expired_at}; ask an administrator for "
                         "a new one (`hub token create`)")


class TokenStoreUnavailable(SecurityError):
    status = 503

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"token store {url}: {problem}; check the state store (`hub init`)")
