"""No record, no data: when the audit append fails, a look-up returns 503 and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.audit.errors import AuditWriteFailed
from tests.api.conftest import District

pytestmark = pytest.mark.slow


def test_a_failed_audit_append_returns_no_data(district: District) -> None:
    def broken(**_: Any) -> int:
        raise AuditWriteFailed("sqlite:///state.sqlite", "OperationalError")

    async def broken_async(**_: Any) -> int:
        return broken()

    headers = {"Authorization": f"Bearer {district.tokens['street_office']}"}
    with TestClient(create_app(district.settings)) as client:
        ok = client.get(f"/v1/residents/{district.mine.key}",
                        params={"purpose": "emergency"}, headers=headers)
        audit = client.app.state.services.audit  # type: ignore[attr-defined]
        audit.append, audit.append_async = broken, broken_async
        refused = client.get(f"/v1/residents/{district.mine.key}",
                             params={"purpose": "emergency"}, headers=headers)
        searched = client.post("/v1/residents/search", headers=headers,
                               json={"id_number": district.mine.raw_id, "purpose": "emergency"})
    assert ok.status_code == 200
    for response in (refused, searched):
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert district.mine.key not in response.text
        assert "profile" not in response.text
