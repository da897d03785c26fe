"""Load modes through the API: an upload asks for a mode within what its source allows, its
status says what applied and what it replaced, and a held snapshot is discarded by its
department through the API (the shared district keeps its data: a delta of unchanged rows and
a discarded snapshot change nothing)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.conftest import District, Server


def _upload(api: httpx.Client, path: Path, **fields: str) -> httpx.Response:
    with path.open("rb") as handle:
        return api.post("/v1/datasets/elderly_care/uploads", data=fields,
                        files={"file": (path.name, handle, "text/csv")})


def _until(api: httpx.Client, url: str, pending: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    body: dict[str, Any] = api.get(url).json()
    while body.get("status") in pending and time.monotonic() < deadline:
        time.sleep(0.5)
        body = api.get(url).json()
    return body


def test_upload_modes_and_a_held_snapshot_discarded_through_the_api(
        server: Server, district: District, tmp_path: Path) -> None:
    lines = Path(district.demo.datasets["elderly_care"].path).read_bytes().splitlines(
        keepends=True)
    part = tmp_path / "elderly_care_supplement.csv"
    part.write_bytes(b"".join(lines[:301]))  # header and 300 rows
    with server.client(district.tokens["department"]) as api:
        wrong = _upload(api, part, mode="partial")
        accepted = _upload(api, part, mode="delta")
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["mode"] == "delta"
        delta = _until(api, accepted.json()["status_url"], ("queued", "running"))

        part.write_bytes(b"".join(lines[:302]))  # another file, sent as a snapshot
        held_upload = _upload(api, part)
        held = _until(api, held_upload.json()["status_url"], ("queued", "running"))
        batch = held["batch_id"]
        discarded = api.post(f"/v1/batches/{batch}/discard")
        decision = _until(api, discarded.json()["status_url"], ("queued", "running"))
        after = api.get(held_upload.json()["status_url"]).json()
        again = api.post(f"/v1/batches/{batch}/confirm")
    with server.client(district.tokens["street_office"]) as street:
        not_theirs = street.post(f"/v1/batches/{batch}/confirm")

    assert wrong.status_code == 400
    assert "partial" not in wrong.text  # the value sent is not echoed
    assert (delta["status"], delta["outcome"], delta["load_mode"]) == ("done", "loaded", "delta")
    assert delta["replaced"]["rows_replaced"] == delta["rows_loaded"]
    # A supplement drops nobody's facts: the source's other current rows stay.
    assert delta["replaced"]["summary"].startswith("delta:")
    assert "current rows stay" in delta["replaced"]["summary"]
    assert {"errors", "warnings"} <= set(delta["findings"])

    assert (held["outcome"], held["load_mode"]) == ("awaiting_confirmation", "snapshot")
    assert discarded.status_code == 202, discarded.text
    assert (decision["status"], decision["outcome"]) == ("done", "discarded")
    assert after["outcome"] == "discarded"
    assert again.status_code == 409  # decided already
    assert not_theirs.status_code == 404  # another role's batch looks like none
