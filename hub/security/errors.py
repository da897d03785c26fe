"""Errors of access control (tokens, scopes, purposes).

    SecurityError (HubError)
    ├── PurposeRequired      a resident-level read came without a purpose (HTTP 400)
    ├── PurposeInvalid       the purpose is not one of the fixed list (HTTP 400)
    ├── RoleInvalid          a token was asked for with an unknown role
    ├── ScopeInvalid         a token scope does not fit its role (bad street code, unknown dataset)
    ├── TokenNameInvalid     a token name is empty, too long or has control characters
    └── TokenStoreUnavailable the token table cannot be read or written

Messages list what is allowed and never echo what the caller sent: a purpose or scope field
typed by a person may contain anything, including an ID number.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.errors import HubError


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


class TokenStoreUnavailable(SecurityError):
    status = 503

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"token store {url}: {problem}; check the state store (`hub init`)")
