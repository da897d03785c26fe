"""Errors of the loops. Each names the item and the step and says what to do; none quotes what
the caller sent.

    HubError
    └── CaseworkError
        ├── ItemNotFound          no such request, case or referral visible to the caller (404)
        ├── StepNotAllowed        the item is not in a state that allows the step (409)
        ├── NotYourStep           the caller's role may not take this step (403)
        ├── ItemInvalid           a field breaks its rule (unknown category, column...) (422)
        ├── NotRequestable        a not_shared dataset or column cannot be requested (422)
        └── DigestNotSent         the SMTP server refused or could not be reached (503)
"""

from __future__ import annotations

from hub.errors import HubError
from schemas.errors import ExitCode


class CaseworkError(HubError):
    status = 400
    exit_code = ExitCode.BAD_INPUT


class ItemNotFound(CaseworkError):
    status = 404

    def __init__(self, kind: str, item_id: str) -> None:
        self.kind, self.item_id = kind, item_id
        # The number is not repeated: it is what the caller sent.
        super().__init__(f"no {kind} with this number is visible to you; list the ones you "
                         "may see (the list endpoint, or `hub corrections|requests|referrals "
                         "list`)")


class StepNotAllowed(CaseworkError):
    status = 409
    exit_code = ExitCode.REFUSED

    def __init__(self, kind: str, item_id: str, step: str, status: str) -> None:
        self.kind, self.item_id, self.step, self.state = kind, item_id, step, status
        super().__init__(f"this {kind} is {status}: the step '{step}' is not possible now; "
                         "reload it to see its current state")


class NotYourStep(CaseworkError):
    status = 403
    exit_code = ExitCode.REFUSED

    def __init__(self, kind: str, step: str) -> None:
        self.kind, self.step = kind, step
        super().__init__(f"your role may not take the step '{step}' on a {kind}; ask the "
                         "party it is addressed to")


class ItemInvalid(CaseworkError):
    status = 422

    def __init__(self, field: str, rule: str) -> None:
        self.field, self.rule = field, rule
        super().__init__(f"{field}: {rule}")


class NotRequestable(CaseworkError):
    status = 422

    def __init__(self, dataset: str, columns: list[str]) -> None:
        self.dataset, self.columns = dataset, columns
        what = f"columns {', '.join(columns)} of {dataset}" if columns else f"dataset {dataset}"
        super().__init__(f"{what} are not_shared and cannot be requested; ask only for "
                         "conditional columns (the catalog lists each column's sharing class)")


class DigestNotSent(CaseworkError):
    status = 503
    exit_code = ExitCode.CONFIG

    def __init__(self, host: str, problem: str) -> None:
        self.host, self.problem = host, problem
        super().__init__(f"the digest could not be sent through {host}: {problem}; check "
                         "HUB_CASEWORK_SMTP_HOST and HUB_CASEWORK_SMTP_PORT")
