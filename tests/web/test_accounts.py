"""Console accounts and sessions on a real SQLite state store: argon2id hashes, lock-out,
reset, disable, idle timeout, and the `hub user` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from hub.audit.log import AuditLog
from hub.cli.main import app
from hub.cli.operator_audit import operator
from hub.security.errors import ScopeInvalid
from hub.state.migrate import open_state_store
from hub.state.tables import console_sessions, console_users
from hub.web.accounts import LoginOutcome, UserStore
from hub.web.errors import PasswordInvalid, UserExists
from hub.web.sessions import SessionStore

PASSWORD = "a long enough password"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_state_store(f"sqlite:///{tmp_path / 'state.sqlite'}")


def test_password_is_stored_as_an_argon2id_hash(engine: Engine) -> None:
    users = UserStore(engine)
    users.create("wang", "street_office", ["110105001"], PASSWORD)
    with engine.connect() as conn:
        stored = conn.execute(select(console_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert users.authenticate("wang", PASSWORD)[0] == LoginOutcome.OK
    assert users.authenticate("wang", PASSWORD + "x")[0] == LoginOutcome.WRONG
    assert users.authenticate("nobody", PASSWORD) == (LoginOutcome.UNKNOWN, None)


def test_roles_scopes_and_passwords_are_checked(engine: Engine) -> None:
    users = UserStore(engine)
    with pytest.raises(ScopeInvalid):
        users.create("li", "street_office", ["not-a-street"], PASSWORD)
    with pytest.raises(PasswordInvalid):
        users.create("li", "admin", [], "short")
    users.create("li", "admin", [], PASSWORD)
    with pytest.raises(UserExists):
        users.create("li", "auditor", [], PASSWORD)


def test_lock_out_after_the_set_number_of_failures_and_reset(engine: Engine) -> None:
    clock = Clock()
    users = UserStore(engine, lockout_attempts=3, lockout_seconds=60, clock=clock)
    users.create("zhao", "auditor", [], PASSWORD)
    outcomes = [users.authenticate("zhao", "wrong password")[0] for _ in range(3)]
    assert outcomes == [LoginOutcome.WRONG, LoginOutcome.WRONG, LoginOutcome.LOCKED_NOW]
    assert users.authenticate("zhao", PASSWORD)[0] == LoginOutcome.LOCKED
    clock.now += 61  # the lock ends; the count starts again
    assert users.authenticate("zhao", "wrong password")[0] == LoginOutcome.WRONG
    assert users.authenticate("zhao", PASSWORD)[0] == LoginOutcome.OK
    for _ in range(3):
        users.authenticate("zhao", "wrong password")
    users.reset_password("zhao", PASSWORD + "2")
    assert users.authenticate("zhao", PASSWORD + "2")[0] == LoginOutcome.OK


def test_a_disabled_user_cannot_log_in(engine: Engine) -> None:
    users = UserStore(engine)
    users.create("sun", "auditor", [], PASSWORD)
    users.disable("sun")
    assert users.authenticate("sun", PASSWORD)[0] == LoginOutcome.DISABLED
    assert users.get("sun") is None


def test_sessions_end_after_the_idle_timeout(engine: Engine) -> None:
    clock = Clock()
    sessions = SessionStore(engine, idle_seconds=100, clock=clock)
    value, session = sessions.create("wang")
    with engine.connect() as conn:
        stored = conn.execute(select(console_sessions.c.session_hash)).scalar_one()
    assert stored != value
    assert value not in stored
    clock.now += 90
    assert sessions.get(value) == session  # used: the idle clock starts again
    clock.now += 90
    assert sessions.get(value) == session
    clock.now += 101
    assert sessions.get(value) is None
    other, _ = sessions.create("wang")
    assert sessions.end_all("wang") == 1
    assert sessions.get(other) is None


def test_user_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    made = runner.invoke(app, ["user", "create", "--name", "qian", "--role", "street_office",
                               "--scope", "110105001", "--password-stdin"],
                         input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    again = runner.invoke(app, ["user", "create", "--name", "qian", "--role", "admin",
                                "--password-stdin"], input=PASSWORD + "\n")
    assert again.exit_code == 1
    listed = runner.invoke(app, ["user", "list"])
    assert "qian" in listed.output
    assert "110105001" in listed.output
    assert PASSWORD not in listed.output
    assert runner.invoke(app, ["user", "reset-password", "qian", "--password-stdin"],
                         input="another long password\n").exit_code == 0
    assert runner.invoke(app, ["user", "disable", "qian"]).exit_code == 0
    assert "disabled" in runner.invoke(app, ["user", "list"]).output
    assert runner.invoke(app, ["user", "disable", "nobody"]).exit_code == 1

    # Each change, made or refused, is in the audit log under the account that ran `hub`.
    engine = open_state_store(f"sqlite:///{tmp_path / 'home' / 'state' / 'state.sqlite'}")
    records = AuditLog(engine).search(newest_first=False)
    changes = [(r["action"], r["outcome"]) for r in records]
    assert changes == [("cli.admin.user.create", "ok"),
                       ("cli.admin.user.create", "refused:user-exists"),
                       ("cli.admin.user.reset_password", "ok"),
                       ("cli.admin.user.disable", "ok"),
                       ("cli.admin.user.disable", "refused:user-unknown")]
    assert {r["actor"] for r in records} == {operator()}
    assert operator().startswith("cli:")
    assert records[0]["role"] == "admin"
    assert all(PASSWORD not in str(r) and "another long password" not in str(r)
               for r in records)
    assert AuditLog(engine).verify().ok
