"""`hub token ...` and `hub audit ...`: API tokens and the evidence log.

Exit codes: 0 done / log intact; 1 the log failed verification or the token to revoke is
unknown; otherwise the error's own (4 for keys and the state store; README.md has the table).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from desensitize.keys import SecurityKeys
from hub.audit.checkpoint import (
    CHECKPOINT_GLOB,
    public_key_hex,
    verify_checkpoint,
    write_checkpoint,
)
from hub.audit.log import AuditLog, VerifyResult
from hub.cli.terminal import exit_on_error, settings_or_exit
from hub.keys.config import load_security_keys
from hub.security.roles import Role
from hub.security.tokens import TokenStore, parse_lifetime
from hub.settings import HubSettings
from hub.state.migrate import open_state_store
from schemas.errors import ExitCode

token_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="API tokens: create (shown once), revoke, list.")
audit_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Evidence log: verify the hash chain, write signed checkpoints.")
console = Console(stderr=True)
out = Console(highlight=False)


def audit_dir(settings: HubSettings) -> Path:
    return settings.home / "audit"


def _settings() -> HubSettings:
    return settings_or_exit(console)


def _keys(settings: HubSettings) -> SecurityKeys:
    return load_security_keys(settings)


def _tokens(settings: HubSettings) -> TokenStore:
    return TokenStore(open_state_store(settings.resolved_state_url),
                      _keys(settings).token_pepper)


def _audit(settings: HubSettings) -> AuditLog:
    return AuditLog(open_state_store(settings.resolved_state_url),
                    synchronous=settings.audit.synchronous)


@token_app.command("create")
def token_create(
    role: Annotated[Role, typer.Option(
        help="street_office, department, auditor, admin or researcher")],
    name: Annotated[str, typer.Option(help="label shown in the audit log")],
    scope: Annotated[list[str] | None, typer.Option(
        help="street codes (street_office) or datasets (department, researcher); repeat "
             "or comma list")]
    = None,
    expires_in: Annotated[str, typer.Option(
        "--expires-in", help="lifetime: days, weeks or hours such as 90d, 2w, 12h (at most "
                             "730d)")] = "90d",
) -> None:
    """Create a token and print it once; only its keyed hash is stored."""
    settings = _settings()
    with exit_on_error(console):
        store = _tokens(settings)
        token_id, token = store.create(role, scope or [], name, parse_lifetime(expires_in))
        expires = next(r["expires_at"] for r in store.list() if r["token_id"] == token_id)
    console.print(f"token {token_id} created for {role.value}, valid until {expires} (UTC); "
                  "it is shown only now, store it safely (lost tokens are revoked and "
                  "replaced, not recovered)")
    out.print(token)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="id from `hub token list`")],
                 ) -> None:
    """Revoke a token; requests with it fail from now on."""
    with exit_on_error(console):
        done = _tokens(_settings()).revoke(token_id)
    if not done:
        console.print(f"no active token {token_id}; see `hub token list`")
        raise typer.Exit(ExitCode.REFUSED)
    out.print(f"revoked {token_id}")


@token_app.command("list")
def token_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List tokens (never their secrets)."""
    with exit_on_error(console):
        rows = _tokens(_settings()).list()
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("token id", "name", "role", "scope", "created", "expires", "revoked")
    for r in rows:
        expires = r["expires_at"] if r["active"] or r["revoked_at"] else \
            f"{r['expires_at']} (expired)"
        table.add_row(r["token_id"], r["name"], r["role"], ",".join(r["scope"]),
                      r["created_at"], expires, r["revoked_at"] or "")
    out.print(table)


def _report(label: str, result: VerifyResult) -> None:
    if result.ok:
        out.print(f"[green]ok[/] {label}: {result.checked} records")
    else:
        out.print(f"[red]FAILED[/] {label}: first bad record {result.first_bad_seq}: "
                  f"{result.problem}")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[list[Path] | None, typer.Option(
        help="checkpoint file(s) to check; default: every file under HUB_HOME/audit/")] = None,
    public_key: Annotated[str | None, typer.Option(
        help="Ed25519 public key (hex) kept outside the hub; default: derived from the "
             "audit-signing key file")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute the hash chain and check the signed checkpoints; exit 1 naming the first bad
    record."""
    settings = _settings()
    with exit_on_error(console):
        log = _audit(settings)
        chain = log.verify()
        files = checkpoint if checkpoint else sorted(audit_dir(settings).glob(CHECKPOINT_GLOB))
        # the key only matters for checkpoints: the chain itself verifies without any key
        key = (public_key or public_key_hex(_keys(settings).public_key())) if files else ""
        checks = [(p, verify_checkpoint(log, key, p)) for p in files]
    ok = chain.ok and all(r.ok for _, r in checks)
    if as_json:
        out.print_json(json.dumps({"ok": ok, "chain": chain.as_dict(), "checkpoints": [
            {"file": str(p), **r.as_dict()} for p, r in checks]}))
    else:
        _report("chain", chain)
        for path, result in checks:
            _report(f"checkpoint {path.name}", result)
        if not checks:
            console.print("no checkpoint yet: truncation of the newest records would not show; "
                          "run `hub audit checkpoint` regularly")
    raise typer.Exit(0 if ok else ExitCode.REFUSED)


@audit_app.command("checkpoint")
def audit_checkpoint(
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="file to write; default HUB_HOME/audit/checkpoint-<seq>-<time>.json")]
    = None,
) -> None:
    """Sign the current head of the log and write it to a checkpoint file."""
    settings = _settings()
    with exit_on_error(console):
        log = _audit(settings)
        seq, _ = log.head()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = out_path or audit_dir(settings) / f"checkpoint-{seq:012d}-{stamp}.json"
        doc = write_checkpoint(log, _keys(settings).signing_key(), path)
    out.print(f"checkpoint of record {doc['seq']} written to {path}; keep a copy where the "
              "state store's administrators cannot write")


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the checkpoint verification key (hex) for auditors to keep outside the hub."""
    with exit_on_error(console):
        out.print(public_key_hex(_keys(_settings()).public_key()))
