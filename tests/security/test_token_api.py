"""The API refuses an expired token with its own problem, and a header that is not exactly
`Bearer <token>`; a refused look-up still leaves its audit record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.audit.log import AuditLog
from hub.keys.config import load_security_keys
from hub.security.roles import Role
from hub.security.tokens import TokenStore
from hub.settings import HubSettings
from hub.state.migrate import open_state_store


def test_expired_and_malformed_credentials_are_refused(settings: HubSettings) -> None:
    engine = open_state_store(settings.resolved_state_url)
    pepper = load_security_keys(settings).token_pepper
    _, valid = TokenStore(engine, pepper).create(Role.AUDITOR, [], "auditor")
    a_month_ago = TokenStore(engine, pepper, now=lambda: datetime.now(UTC) - timedelta(days=30))
    _, expired = a_month_ago.create(Role.STREET_OFFICE, ["110105001"], "street", timedelta(
        days=7))

    with TestClient(create_app(settings)) as client:
        def get(header: str | None) -> tuple[int, dict[str, str], str]:
            headers = {"Authorization": header} if header is not None else {}
            answer = client.get("/v1/catalog/datasets", headers=headers)
            return answer.status_code, dict(answer.headers), answer.text

        assert get(f"Bearer {valid}")[0] == 200
        status, headers, body = get(f"Bearer {expired}")
        assert status == 401
        assert headers["content-type"].startswith("application/problem+json")
        assert '"type":"https://community-data-hub.invalid/problems/token-expired"' in \
            body.replace(" ", "")
        assert "invalid_token" in headers["www-authenticate"]
        assert expired not in body
        for bad in (f"Bearer Bearer {valid}", f"Bearer {valid} {valid}", valid,
                    f"Basic {valid}", "Bearer "):
            status, _, body = get(bad)
            assert status == 401, bad
            assert "/unauthenticated" in body
        assert "/unauthenticated" in get(None)[2]  # the expired flag does not linger

        searched = client.post("/v1/residents/search",
                               headers={"Authorization": f"Bearer {expired}"},
                               json={"id_number": "110105194102031234",
                                     "purpose": "assistance_review"})
        assert searched.status_code == 401
        assert "token-expired" in searched.text
    (record,) = AuditLog(engine).search(limit=1)
    assert record["outcome"] == "refused:unauthenticated"
    assert record["action"] == "resident.search"
    engine.dispose()
