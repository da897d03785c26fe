"""One settings object: every `HUB_*` variable the README documents lands in HubSettings, under
its group, and building settings never writes to the environment."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from hub.settings import HubSettings

ROOT = Path(__file__).resolve().parents[2]

# A valid value for each documented variable and where it lands (group, field), with the value
# the settings hold then.
DOCUMENTED: dict[str, tuple[str, tuple[str, ...], Any]] = {
    "HUB_HOME": ("/tmp/hub-settings-test", ("home",), Path("/tmp/hub-settings-test")),
    "HUB_STATE_URL": ("sqlite:////tmp/x.sqlite", ("state_url",), "sqlite:////tmp/x.sqlite"),
    "HUB_CHUNK_ROWS": ("5000", ("chunk_rows",), 5000),
    "HUB_INGEST_WORKERS": ("3", ("ingest_workers",), 3),
    "HUB_MAX_EXTRACT_BYTES": ("2048", ("max_extract_bytes",), 2048),
    "HUB_WAREHOUSE_MEMORY_LIMIT": ("2GB", ("warehouse_memory_limit",), "2GB"),
    "HUB_PUBLISH_MEMORY_LIMIT": ("3GB", ("publish_memory_limit",), "3GB"),
    "HUB_QUALITY_CHECKS": ("false", ("quality_checks",), False),
    "HUB_HOST": ("0.0.0.0", ("serve", "host"), "0.0.0.0"),
    "HUB_PORT": ("8123", ("serve", "port"), 8123),
    "HUB_WORKERS": ("3", ("serve", "workers"), 3),
    "HUB_PIPELINE": ("false", ("serve", "pipeline"), False),
    "HUB_PIPELINE_NICE": ("0", ("serve", "pipeline_nice"), 0),
    "HUB_AUDIT_SYNCHRONOUS": ("full", ("audit", "synchronous"), "full"),
    "HUB_AUDIT_CHECKPOINT_RECORDS": ("50", ("audit", "checkpoint_records"), 50),
    "HUB_AUDIT_CHECKPOINT_SECONDS": ("30", ("audit", "checkpoint_seconds"), 30),
    "HUB_AUDIT_WITNESS_DIR": ("/tmp/witness", ("audit", "witness_dir"), Path("/tmp/witness")),
    "HUB_CONSOLE_IDLE_SECONDS": ("600", ("console", "idle_seconds"), 600),
    "HUB_CONSOLE_LOCKOUT_ATTEMPTS": ("3", ("console", "lockout_attempts"), 3),
    "HUB_CONSOLE_LOCKOUT_SECONDS": ("120", ("console", "lockout_seconds"), 120),
    "HUB_CONSOLE_SECURE_COOKIE": ("true", ("console", "secure_cookie"), True),
    "HUB_RELEASE_RISK_THRESHOLDS": ("researcher=0.02", ("release_risk_thresholds",),
                                    "researcher=0.02"),
    "HUB_REVEAL_STREET_OFFICE": ("true", ("reveal", "street_office"), True),
    "HUB_REVEAL_RATE_LIMIT": ("7", ("reveal", "rate_limit"), 7),
    "HUB_REVEAL_RATE_WINDOW_SECONDS": ("600", ("reveal", "rate_window_seconds"), 600),
    "HUB_CASEWORK_CORRECTION_DAYS_FINDING": ("7", ("casework", "correction_days_finding"), 7),
    "HUB_CASEWORK_CORRECTION_DAYS_QUALITY": ("3", ("casework", "correction_days_quality"), 3),
    "HUB_CASEWORK_CORRECTION_DAYS_REPORT": ("8", ("casework", "correction_days_report"), 8),
    "HUB_CASEWORK_SHARING_REPLY_DAYS": ("15", ("casework", "sharing_reply_days"), 15),
    "HUB_CASEWORK_REFERRAL_DAYS": ("4", ("casework", "referral_days"), 4),
    "HUB_CASEWORK_SMTP_HOST": ("mail.example.org", ("casework", "smtp_host"),
                               "mail.example.org"),
    "HUB_CASEWORK_SMTP_PORT": ("2525", ("casework", "smtp_port"), 2525),
    "HUB_CASEWORK_SMTP_FROM": ("hub@example.org", ("casework", "smtp_from"),
                               "hub@example.org"),
    "HUB_CASEWORK_DIGEST_RECIPIENTS": ("demo-admin=a@example.org",
                                       ("casework", "digest_recipients"),
                                       "demo-admin=a@example.org"),
    "HUB_LINKAGE_AUTO_LINK": ("0.95", ("linkage", "auto_link"), 0.95),
    "HUB_LINKAGE_REVIEW_FLOOR": ("0.6", ("linkage", "review_floor"), 0.6),
    "HUB_LINKAGE_REGISTRY_DUPLICATES": ("false", ("linkage", "registry_duplicates"), False),
    "HUB_PSEUDONYM_KEY_REF": ("env:PSEUDONYM_KEY", ("pseudonym_key_ref",), "env:PSEUDONYM_KEY"),
    "HUB_VAULT_KEY_REF": ("env:VAULT_KEY", ("vault_key_ref",), "env:VAULT_KEY"),
    "HUB_TOKEN_PEPPER_REF": ("env:PEPPER", ("token_pepper_ref",), "env:PEPPER"),
    "HUB_AUDIT_SIGNING_KEY_REF": ("file:/run/secrets/signing", ("audit_signing_key_ref",),
                                  "file:/run/secrets/signing"),
}


def _readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"`(HUB_[A-Z_]+)`", text))


def _value(settings: HubSettings, path: tuple[str, ...]) -> Any:
    value: Any = settings
    for part in path:
        value = getattr(value, part)
    return value


def test_every_variable_the_readme_names_is_covered_here() -> None:
    assert _readme_variables() == set(DOCUMENTED)


def test_each_documented_variable_lands_in_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (raw, _, _) in DOCUMENTED.items():
        monkeypatch.setenv(name, raw)
    before = dict(os.environ)
    settings = HubSettings()
    for name, (_, path, expected) in DOCUMENTED.items():
        assert _value(settings, path) == expected, name
    assert dict(os.environ) == before  # nothing copied back into the environment


def test_defaults_without_any_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_HOME")
    settings = HubSettings()
    assert (settings.serve.host, settings.serve.port, settings.serve.pipeline) == \
        ("127.0.0.1", 8000, True)
    assert settings.serve.pipeline_nice == 10
    assert 1 <= settings.serve.workers <= 64
    assert (settings.reveal.street_office, settings.reveal.rate_limit,
            settings.reveal.rate_window_seconds) == (False, 10, 3600)
    assert settings.audit.synchronous == "normal"


@pytest.mark.parametrize(("name", "value"), [
    ("HUB_PORT", "0"), ("HUB_WORKERS", "65"), ("HUB_REVEAL_RATE_LIMIT", "0"),
    ("HUB_AUDIT_SYNCHRONOUS", "sometimes"), ("HUB_CHUNK_ROWS", "10"),
    ("HUB_INGEST_WORKERS", "0"),
])
def test_a_bad_value_is_refused_naming_its_setting(monkeypatch: pytest.MonkeyPatch,
                                                   name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    field = name.removeprefix("HUB_REVEAL_").removeprefix("HUB_AUDIT_").removeprefix("HUB_")
    with pytest.raises(ValueError, match=field.lower()):
        HubSettings()


def test_serve_refuses_settings_its_api_workers_would_not_see(tmp_path: Path) -> None:
    """API worker processes build their settings from the environment: `hub serve` must not
    run on other settings (nothing hands them over through the environment)."""
    from hub.serve import ServeRefused, check_environment_matches
    from hub.settings import ServeSettings

    from_environment = HubSettings()
    check_environment_matches(from_environment)
    listening = ServeSettings.model_validate({**from_environment.serve.model_dump(),
                                              "port": 8999})
    check_environment_matches(from_environment.model_copy(update={"serve": listening}))
    with pytest.raises(ServeRefused, match="HUB_"):
        check_environment_matches(HubSettings(home=tmp_path / "elsewhere"))


def test_linkage_thresholds_must_leave_a_review_band(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_LINKAGE_AUTO_LINK", "0.6")
    monkeypatch.setenv("HUB_LINKAGE_REVIEW_FLOOR", "0.8")
    with pytest.raises(ValueError, match="HUB_LINKAGE_REVIEW_FLOOR"):
        HubSettings()
    monkeypatch.setenv("HUB_LINKAGE_AUTO_LINK", "1.5")
    with pytest.raises(ValueError, match="auto_link"):
        HubSettings()
