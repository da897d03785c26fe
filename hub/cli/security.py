"""`hub token ...` and `hub audit ...`: API tokens and the evidence log. Creating and revoking
a token is itself in the log (`cli.admin.token.*`, hub.cli.operator_audit).

Exit codes: 0 done / log intact and witnessed; 1 the log failed verification or the token to
revoke is unknown; 2 (verify) the chain is intact but no witness vouches for its tail;
otherwise the error's own (4 for keys and the state store; README.md has the table).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from desensitize.keys import SecurityKeys
from hub.audit.checkpoint import (
    CHECKPOINT_GLOB,
    checkpoint_name,
    public_key_hex,
    verify_checkpoint,
    write_checkpoint,
)
from hub.audit.errors import WitnessFetchFailed
from hub.audit.fetch import TOKEN_ENV, fetch_checkpoints
from hub.audit.log import AuditLog, VerifyResult
from hub.audit.publisher import CheckpointPublisher
from hub.audit.witness import WitnessResult, read_public_key, verify_witness
from hub.cli.operator_audit import audited_change, record
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


# `hub audit verify`: the chain is intact, but nothing kept off this machine vouches for it.
EXIT_UNWITNESSED = 2


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
    with exit_on_error(console), audited_change(settings, "token.create", {
            "role": role.value, "scope": ",".join(scope or [])}) as detail:
        store = _tokens(settings)
        token_id, token = store.create(role, scope or [], name, parse_lifetime(expires_in))
        expires = next(r["expires_at"] for r in store.list() if r["token_id"] == token_id)
        detail.update(token_id=token_id, expires_at=str(expires))
    console.print(f"token {token_id} created for {role.value}, valid until {expires} (UTC); "
                  "it is shown only now, store it safely (lost tokens are revoked and "
                  "replaced, not recovered)")
    out.print(token)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="id from `hub token list`")],
                 ) -> None:
    """Revoke a token; requests with it fail from now on."""
    settings = _settings()
    with exit_on_error(console):
        done = _tokens(settings).revoke(token_id)
        record(settings, "token.revoke", "ok" if done else "refused:token-unknown",
               {"token_id": token_id[:64]})
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
    # Measured now, not at import: the table takes the width of the terminal it is printed on.
    Console(highlight=False).print(table)


def _report(label: str, result: VerifyResult) -> None:
    if result.ok:
        out.print(f"[green]ok[/] {label}: {result.checked} records")
    else:
        out.print(f"[red]FAILED[/] {label}: first bad record {result.first_bad_seq}: "
                  f"{result.problem}")


def _local_public_key(settings: HubSettings, given: str | None) -> str:
    """--public-key, else the published key file, else derived from the signing key."""
    if given:
        return given.strip()
    published = read_public_key(settings.audit_dir)
    return published or public_key_hex(_keys(settings).public_key())


def _witness_key(folder: Path, given: str | None) -> str:
    key = (given or "").strip() or read_public_key(folder)
    if not key:
        console.print(f"[red]error:[/] no public key for {folder}: pass --public-key (the hex "
                      "key from `hub audit public-key`, kept outside the hub)")
        raise typer.Exit(ExitCode.CONFIG)
    return key


@audit_app.command("verify")
def audit_verify(
    checkpoint_dir: Annotated[Path | None, typer.Option(
        "--checkpoint-dir", help="witness folder: checkpoint copies kept off this machine "
                                 "(`hub audit fetch-checkpoints`)")] = None,
    checkpoint: Annotated[list[Path] | None, typer.Option(
        help="checkpoint file(s) to check; default: every file under HUB_HOME/audit/")] = None,
    public_key: Annotated[str | None, typer.Option(
        help="Ed25519 public key (hex) kept outside the hub; default: the witness folder's "
             "public-key.txt, else HUB_HOME/audit/public-key.txt")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute the hash chain and check it against signed checkpoints. Exit 0: intact and
    witnessed; 1: tampering found (the first bad record is named); 2: the chain is intact
    but no witness folder holds a checkpoint, so a cut or rewritten tail would not show."""
    settings = _settings()
    witness: WitnessResult | None = None
    with exit_on_error(console):
        log = _audit(settings)
        chain = log.verify()
        files = checkpoint if checkpoint else sorted(settings.audit_dir.glob(CHECKPOINT_GLOB))
        # the key only matters for checkpoints: the chain itself verifies without any key
        key = _local_public_key(settings, public_key) if files else ""
        checks = [(p, verify_checkpoint(log, key, p)) for p in files]
        if checkpoint_dir is not None:
            witness = verify_witness(log, checkpoint_dir,
                                     _witness_key(checkpoint_dir, public_key))
    failures = [r for r in (chain, *(r for _, r in checks)) if not r.ok]
    witness_failed = witness is not None and not witness.ok
    first_bad = chain.first_bad_seq if not chain.ok else (
        witness.first_bad_seq if witness is not None and witness_failed else next(
            (r.first_bad_seq for r in failures), None))
    unwitnessed = witness is None or witness.checkpoints == 0
    code = ExitCode.REFUSED if failures or witness_failed else (
        EXIT_UNWITNESSED if unwitnessed else 0)
    if as_json:
        out.print_json(json.dumps({
            "ok": code == 0, "exit_code": code, "first_bad_seq": first_bad,
            "unwitnessed": unwitnessed, "chain": chain.as_dict(),
            "witness": witness.as_dict() if witness is not None else None,
            "checkpoints": [{"file": str(p), **r.as_dict()} for p, r in checks]}))
    else:
        _report("chain", chain)
        for path, result in checks:  # `hub serve` writes many: show the ones that fail
            if not result.ok or len(checks) <= 3:
                _report(f"checkpoint {path.name}", result)
        if len(checks) > 3 and all(r.ok for _, r in checks):
            out.print(f"[green]ok[/] {len(checks)} checkpoints on this machine")
        if witness is not None:
            _report_witness(witness)
        if code == ExitCode.REFUSED:
            out.print(f"[red]FAILED[/]: first bad record {first_bad}")
        elif unwitnessed:
            console.print("UNWITNESSED: the chain is intact, but no checkpoint kept off this "
                          "machine vouches for it, so records cut from the end or a chain "
                          "recomputed from some record on would not show; run `hub audit "
                          "verify --checkpoint-dir DIR` with an auditor's copies")
    raise typer.Exit(code)


def _report_witness(result: WitnessResult) -> None:
    if not result.ok:
        out.print(f"[red]FAILED[/] witness: first bad record {result.first_bad_seq}: "
                  f"{result.problem}")
    elif result.checkpoints:
        out.print(f"[green]ok[/] witness: {result.checkpoints} checkpoints, records 1-"
                  f"{result.witnessed_seq} witnessed, {result.unwitnessed} newer records not "
                  "yet")


@audit_app.command("checkpoint")
def audit_checkpoint(
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="file to write; default HUB_HOME/audit/checkpoint-<seq>-<time>.json")]
    = None,
) -> None:
    """Sign the current head of the log and write it to a checkpoint file (`hub serve` does
    this on its own every HUB_AUDIT_CHECKPOINT_RECORDS records or _SECONDS seconds)."""
    settings = _settings()
    with exit_on_error(console):
        log = _audit(settings)
        key = _keys(settings).signing_key()
        if out_path is None:
            doc = CheckpointPublisher(log, key, settings.audit_dir, 1, 0).publish()
            path = settings.audit_dir / checkpoint_name(int(doc["seq"]), str(doc["at"]))
        else:
            path, doc = out_path, write_checkpoint(log, key, out_path)
    out.print(f"checkpoint of record {doc['seq']} written to {path}; keep a copy where the "
              "state store's administrators cannot write (`hub audit fetch-checkpoints`)")


def _token_from_environment() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token and not sys.stdin.isatty():
        token = sys.stdin.readline().strip()
    if not token:
        console.print(f"[red]error:[/] no token: set {TOKEN_ENV} or pipe an auditor token on "
                      "standard input")
        raise typer.Exit(ExitCode.CONFIG)
    return token


@audit_app.command("fetch-checkpoints")
def audit_fetch_checkpoints(
    out_dir: Annotated[Path, typer.Option("--out", help="the witness folder (kept off the "
                                                        "hub's machine)")],
    url: Annotated[str, typer.Option(help="the hub's base URL, e.g. https://hub.example")],
    public_key: Annotated[str | None, typer.Option(
        help="the hub's public key (hex) to pin on the first fetch; default: trust the key "
             "of the first checkpoint fetched")] = None,
) -> None:
    """Copy the hub's new signed checkpoints into a witness folder, with an auditor token
    (from HUB_TOKEN or standard input). Each is checked against the pinned public key;
    files already there are never overwritten."""
    token = _token_from_environment()
    try:
        fetched = fetch_checkpoints(url, token, out_dir, public_key)
    except WitnessFetchFailed as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(ExitCode.REFUSED) from None
    out.print(f"{fetched.new} new checkpoint(s) in {out_dir} ({fetched.total} in all, newest "
              f"for record {fetched.newest_seq})")


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the checkpoint verification key (hex) for auditors to keep outside the hub."""
    with exit_on_error(console):
        out.print(public_key_hex(_keys(_settings()).public_key()))
