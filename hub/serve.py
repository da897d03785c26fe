"""`hub serve`: the API in several uvicorn worker processes plus one pipeline worker process.

The API processes read the state store only; the pipeline worker is the single writer of the
warehouse and drains the upload queue (hub.jobs). Before anything starts, the home folder is
checked: keys readable by the owner only, no keys missing under existing data (new keys would
orphan every pseudonym and token), no weak key (repeated bytes, equal keys: a placeholder
copied from somewhere), and the state store tables are created once here so that worker
processes do not race to create them. Ctrl-C or SIGTERM stops the API first, then lets the
pipeline worker finish the job in hand (a batch commits whole or not at all).
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import signal
import stat
import sys
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import HubError
from hub.settings import HubSettings

log = logging.getLogger("hub.serve")

PIPELINE_STOP_SECONDS = 60
WORKER_HEALTHCHECK_SECONDS = 60


class ServeSettings(BaseSettings):
    """Where and how `hub serve` listens (`HUB_HOST`, `HUB_PORT`, `HUB_WORKERS`)."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=4, ge=1, le=64)
    pipeline: bool = True  # HUB_PIPELINE=false: API only (another host runs the worker)


class ServeRefused(HubError):
    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"hub serve refuses to start: {problem}")


@dataclass
class _Key:
    name: str
    data: bytes


def _weak(data: bytes) -> bool:
    return len(set(data)) <= 2 or data == data[: len(data) // 2] * 2


def check_home(settings: HubSettings) -> None:
    """Refuse insecure, missing or placeholder secrets before serving anything."""
    from desensitize.keys import KeyRing, SecurityKeys

    keys_dir = settings.keys_dir
    has_data = settings.warehouse_path.exists() or (settings.state_dir / "state.sqlite").exists()
    if not keys_dir.exists() and has_data:
        raise ServeRefused(
            f"the keys folder {keys_dir} is missing but the home holds data; restore the "
            "keys from your backup (new keys would orphan every pseudonym and token)")
    if keys_dir.exists():
        mode = keys_dir.stat().st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise ServeRefused(f"the keys folder {keys_dir} is readable by others "
                               f"(mode {stat.S_IMODE(mode):o}); run `chmod 700 {keys_dir}`")
    ring = KeyRing.load_or_create(keys_dir)  # raises KeyFileInsecure / KeyFileInvalid
    security = SecurityKeys.load_or_create(keys_dir)
    keys = [_Key("pseudonym.key", ring.pseudonym_key), _Key("vault.key", ring.vault_key),
            _Key("token_pepper.key", security.token_pepper),
            _Key("audit_signing.key", security.audit_signing_seed)]
    for key in keys:
        if _weak(key.data):
            raise ServeRefused(f"{keys_dir / key.name} holds a placeholder key (repeated "
                               "bytes); remove it only if no data was made with it")
    firsts = {k.data[:32] for k in keys}
    if len(firsts) != len(keys):
        raise ServeRefused(f"two key files in {keys_dir} share key material; every key must "
                           "be generated separately")


def prepare_state(settings: HubSettings) -> None:
    """Create every state-store table once, before worker processes start."""
    from hub.api.app import build_services
    from hub.views.store import create_view_tables

    services = build_services(settings)
    try:
        create_view_tables(services.engine)
    finally:
        services.engine.dispose()


def export_settings(settings: HubSettings) -> None:
    """API worker processes read `HUB_*` at startup: hand them these settings."""
    for name, value in settings.model_dump().items():
        if value is not None:
            os.environ[f"HUB_{name.upper()}"] = str(value)


def log_config(level: str = "INFO") -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["hub"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


def _pipeline_main(settings: HubSettings, stop: Any, ready: Any) -> None:
    from hub.jobs import run_pipeline_worker

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s %(message)s",
                        stream=sys.stderr)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    run_pipeline_worker(settings, stop, ready=ready)


def start_pipeline(settings: HubSettings) -> tuple[Any, Any]:
    context = multiprocessing.get_context("spawn")
    stop, ready = context.Event(), context.Event()
    process = context.Process(target=_pipeline_main, args=(settings, stop, ready),
                              name="hub-pipeline", daemon=False)
    process.start()
    while not ready.wait(0.2):
        if not process.is_alive():
            raise ServeRefused("the pipeline worker could not start (see the log above); "
                               "is another `hub` process writing the warehouse?")
    return process, stop


def stop_pipeline(process: Any, stop: Any) -> None:
    stop.set()
    process.join(PIPELINE_STOP_SECONDS)
    if process.is_alive():  # an uncommitted batch is rolled back: safe to end it
        log.warning("pipeline worker did not stop in %d s; terminating it",
                    PIPELINE_STOP_SECONDS)
        process.terminate()
        process.join(10)


def serve(settings: HubSettings, options: ServeSettings | None = None) -> int:
    import uvicorn

    options = options or ServeSettings()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s %(message)s")
    settings.ensure_dirs()
    check_home(settings)
    prepare_state(settings)
    export_settings(settings)
    pipeline = start_pipeline(settings) if options.pipeline else None
    try:
        uvicorn.run("hub.api.app:create_app", factory=True, host=options.host,
                    port=options.port, workers=options.workers, access_log=False,
                    log_config=log_config(), timeout_graceful_shutdown=10,
                    # A spawned worker imports the hub (pandas, DuckDB) before it answers the
                    # supervisor's ping: on a busy 2-core host that takes longer than the
                    # 5 s default, and uvicorn would kill and respawn it forever.
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
                    server_header=False)
    finally:
        if pipeline is not None:
            stop_pipeline(*pipeline)
    return 0


def _demo_resident(settings: HubSettings, manifest: Any) -> tuple[str, str] | None:
    """(raw ID from the demo grid extract, its street) of a resident with published facts."""
    import pandas as pd

    from catalog.db import create_state_engine
    from desensitize.keys import KeyRing
    from desensitize.pseudonym import Pseudonymiser
    from hub.views.read import ViewReader, resident_key_for_id_number

    grid = pd.read_csv(manifest.datasets["grid"].path, dtype=str, encoding="utf-8", nrows=500)
    engine = create_state_engine(settings.resolved_state_url)
    reader = ViewReader(engine)
    try:
        with Pseudonymiser(KeyRing.load_or_create(settings.keys_dir).pseudonym_key) as p:
            for raw in grid["身份证号"].dropna():
                key = resident_key_for_id_number(raw, p)
                doc = reader.resident(key) if key else None
                if doc and doc["location"]["street_code"] and len(doc["departments"]) >= 2:
                    return str(raw), str(doc["location"]["street_code"])
    finally:
        engine.dispose()
    return None


def print_demo_access(settings: HubSettings, manifest: Any, console: Any,
                      options: ServeSettings) -> None:
    """Create one token per role for the demo, print them and a ready `curl` look-up.

    The demo district is synthetic, so printing one of its ID numbers on the demo console is
    the point; a real installation never does this."""
    from catalog.db import create_state_engine
    from desensitize.keys import SecurityKeys
    from hub.security.tokens import TokenStore

    found = _demo_resident(settings, manifest)
    if found is None:
        console.print("no published resident found: tokens not created")
        return
    raw_id, street = found
    engine = create_state_engine(settings.resolved_state_url)
    try:
        store = TokenStore(engine, SecurityKeys.load_or_create(settings.keys_dir).token_pepper)
        store.create_all()
        scopes = {"street_office": [street], "department": ["elderly_care"], "auditor": [],
                  "admin": []}
        tokens = {role: store.create(role, scope, f"demo-{role}")[1]
                  for role, scope in scopes.items()}
    finally:
        engine.dispose()
    console.print("demo tokens (shown once; `hub token revoke` to withdraw):")
    for role, token in tokens.items():
        scope = ",".join(scopes[role]) or "-"
        console.print(f"  {role:<14} scope {scope:<12} {token}", soft_wrap=True)
    url = f"http://{options.host}:{options.port}"
    console.print("look up a demo resident (street office, purpose stated, ID in the body):")
    console.print(
        f"  curl -s -X POST {url}/v1/residents/search "
        f"-H 'Authorization: Bearer {tokens['street_office']}' "
        "-H 'Content-Type: application/json' "
        f"-d '{{\"id_number\": \"{raw_id}\", \"purpose\": \"assistance_review\"}}'",
        soft_wrap=True, markup=False)
    console.print(f"  API documentation: {url}/docs", markup=False)
