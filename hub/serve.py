"""`hub serve`: the API in several uvicorn worker processes plus one pipeline worker process.

The API processes read the state store only; the pipeline worker is the single writer of the
warehouse and drains the upload queue (hub.pipeline.jobs). Before anything starts, the home
folder is checked: keys readable by the owner only, no keys missing under existing data (new
keys would orphan every pseudonym and token), no weak key (repeated bytes, equal keys: a placeholder
copied from somewhere), and the state store is migrated to the newest schema once here,
before any worker process opens it. Ctrl-C or SIGTERM (to `hub serve` alone or to its whole
process group) stops the API first, then lets the pipeline worker finish the job in hand for up
to PIPELINE_STOP_SECONDS (a batch commits whole or not at all, so ending it later is safe).

The pipeline worker runs at a lower CPU priority (`HUB_PIPELINE_NICE`, default 10): on a small
host a long ingest then takes the cores the API leaves idle, and look-ups keep theirs.

Every API worker process builds its own HubSettings from the same environment `hub serve` was
started in; nothing is written back to the environment. Where and how to listen
(`settings.serve`) matters to this process only.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import signal
import sys
import time
from typing import Any

from hub.errors import ServeRefused
from hub.settings import HubSettings

log = logging.getLogger("hub.serve")

PIPELINE_STOP_SECONDS = 60
STOP_POLL_SECONDS = 0.25
WORKER_HEALTHCHECK_SECONDS = 60


def check_home(settings: HubSettings) -> None:
    """Refuse insecure, missing, placeholder or shared keys before serving anything.

    The checks themselves live in the key loader (hub.keys.config), so every process gets them;
    here all four keys are checked at once, before any worker process starts."""
    from desensitize.errors import KeyProblem
    from hub.keys.config import verify_keys

    try:
        verify_keys(settings)
    except KeyProblem as exc:
        raise ServeRefused(str(exc)) from exc
    _refuse_half_rotated(settings)


def _refuse_half_rotated(settings: HubSettings) -> None:
    """A half-done key rotation leaves views keyed partly by the old key: serve none of it."""
    import duckdb

    from hub.keys.rotation_errors import RotationInProgress
    from hub.keys.rotation_state import refuse_if_rotating

    if not settings.warehouse_path.exists():
        return
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True,
                             config={"autoinstall_known_extensions": False})
    except duckdb.Error:  # another process writes it: the pipeline worker will say whom
        return
    try:
        refuse_if_rotating(con)
    except RotationInProgress as exc:
        raise ServeRefused(str(exc)) from exc
    finally:
        con.close()


def prepare_state(settings: HubSettings) -> None:
    """Bring the state store to the newest schema once, before worker processes start, and
    refuse here what every worker would refuse: its keys and the upload sources. Without the
    API's own imports (pandas, the app), which only the workers need."""
    from connectors.source import source_catalogue
    from hub.keys.config import load_keyring, load_security_keys
    from hub.state.migrate import open_state_store

    # Keys first: a refused start must not leave a new state store behind.
    load_security_keys(settings)
    load_keyring(settings)
    source_catalogue(settings.home / "sources")
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    open_state_store(settings.resolved_state_url).dispose()


def log_config(level: str = "INFO") -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    from hub.api.access_log import ACCESS_LOGGER, LINE_FORMAT

    config = copy.deepcopy(LOGGING_CONFIG)
    # The hub's own lines through a plain formatter: uvicorn's default one copies every
    # record to colour its level name.
    config["formatters"]["hub"] = {"format": LINE_FORMAT}
    config["handlers"]["hub"] = {"formatter": "hub", "class": "logging.StreamHandler",
                                 "stream": "ext://sys.stderr"}
    config["loggers"]["hub"] = {"handlers": ["hub"], "level": level, "propagate": False}
    # One access line per request, the lines of one turn of the event loop in one write
    # (hub.api.access_log).
    config["handlers"]["access"] = {"formatter": "hub", "stream": "ext://sys.stderr",
                                    "class": "hub.api.access_log.AccessLineHandler"}
    config["loggers"][ACCESS_LOGGER] = {"handlers": ["access"], "level": level,
                                        "propagate": False}
    return config


class StopRequest:
    """The pipeline worker's stop: the parent's Event, or a SIGTERM to this process.

    A signal handler must not call `Event.set()`: the handler runs in the main thread, which
    is usually asleep inside `Event.wait()`, and `set()` then waits for that very thread to
    acknowledge the wake-up, so the process (and the parent's own `set()`, blocked on the
    same lock) hangs for ever. The handler only flips a flag; `wait` sleeps in short slices
    so that the flag is seen within STOP_POLL_SECONDS."""

    def __init__(self, event: Any) -> None:
        self.event = event
        self.signalled = False

    def request(self, *_: Any) -> None:  # the SIGTERM handler: no locks
        self.signalled = True

    def is_set(self) -> bool:
        return self.signalled or bool(self.event.is_set())

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.event.wait(min(left, STOP_POLL_SECONDS))
        return self.is_set()


def _pipeline_main(settings: HubSettings, stop: Any, ready: Any, nice: int = 0) -> None:
    from hub.pipeline.jobs import run_pipeline_worker

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s %(message)s",
                        stream=sys.stderr)
    request = StopRequest(stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, request.request)
    if nice > 0:  # before DuckDB starts its threads: they inherit the priority
        os.nice(nice)
    run_pipeline_worker(settings, request, ready=ready)


def start_pipeline(settings: HubSettings, nice: int = 0) -> tuple[Any, Any]:
    context = multiprocessing.get_context("spawn")
    stop, ready = context.Event(), context.Event()
    process = context.Process(target=_pipeline_main, args=(settings, stop, ready, nice),
                              name="hub-pipeline", daemon=False)
    process.start()
    while not ready.wait(0.2):
        if not process.is_alive():
            raise ServeRefused("the pipeline worker could not start (see the log above); "
                               "is another `hub` process writing the warehouse?")
    return process, stop


def stop_pipeline(process: Any, stop: Any, grace: float = PIPELINE_STOP_SECONDS) -> None:
    stop.set()
    process.join(grace)
    if process.is_alive():  # an uncommitted batch is rolled back: safe to end it
        # SIGKILL, not SIGTERM: SIGTERM only asks for the stop already asked above, and a
        # child left alive would also block this process's exit (multiprocessing joins it).
        log.warning("pipeline worker did not stop in %.0f s; killing it (the batch in hand "
                    "is rolled back, and its job is queued again at the next start)", grace)
        process.kill()
        process.join(10)


class _DeferredSignals:
    """SIGINT/SIGTERM recorded while uvicorn runs, instead of the default actions.

    With one worker uvicorn serves in this process and, once shut down, re-raises the signal
    it caught under the handler found before it started: the default one would kill this
    process before the pipeline worker is stopped (leaving it running, holding the warehouse
    writer lock). Under these handlers the re-raise is recorded and `serve` returns normally."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)

    def __enter__(self) -> _DeferredSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def check_environment_matches(settings: HubSettings) -> None:
    """The API worker processes build their settings from this environment: refuse settings
    that differ from it (apart from `serve`, which only this process reads)."""
    if HubSettings().model_dump(exclude={"serve"}) != settings.model_dump(exclude={"serve"}):
        raise ServeRefused("the settings given differ from the HUB_* environment, which every "
                           "API worker process reads: set them in the environment instead")


def api_worker_app() -> Any:
    """The app of one API worker process (uvicorn's factory): the API and the console.

    Its log records skip what none of `log_config`'s formats prints (the caller's file and
    line, thread and process names), as the logging HOWTO's "Optimization" section shows:
    the access log line of every request is a visible share of a search's CPU
    (docs/profiles.md). Set here, in the worker process only: tests and the CLI keep full
    records."""
    from hub.web.install import create_hub_app

    logging._srcfile = None  # no frame walk to find the caller
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    return create_hub_app()


def uvicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """How `hub serve` runs uvicorn (an app factory); the B3 benchmark serves its bare
    reference app with the same options."""
    from hub.api.nodelay import NoDelayHTTPProtocol

    return {"factory": True, "host": host, "port": port, "workers": workers,
            "access_log": False, "log_config": log_config(), "timeout_graceful_shutdown": 10,
            # A spawned worker imports the hub (pandas, DuckDB) before it answers the
            # supervisor's ping: on a busy 2-core host that takes longer than the 5 s
            # default, and uvicorn would kill and respawn it forever.
            "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
            "server_header": False, "http": NoDelayHTTPProtocol,
            # uvicorn[standard]'s uvloop, named so that a missing one fails loudly instead
            # of a silent fall-back to asyncio's slower loop (httptools: NoDelayHTTPProtocol).
            "loop": "uvloop"}


def serve(settings: HubSettings) -> int:
    """Serve until stopped. `settings` must be those of this process's environment (the CLI
    builds them so), apart from `settings.serve`."""
    import uvicorn

    check_environment_matches(settings)
    options = settings.serve
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s %(message)s")
    settings.ensure_dirs()
    check_home(settings)
    prepare_state(settings)
    # From here on a signal only asks for an orderly stop: API first, then the pipeline.
    with _DeferredSignals() as deferred:
        pipeline = start_pipeline(settings, options.pipeline_nice) if options.pipeline \
            else None
        publisher = start_checkpoints(settings)
        try:
            if not deferred.received:  # a stop asked for while the pipeline started
                uvicorn.run("hub.serve:api_worker_app",
                            **uvicorn_options(options.host, options.port, options.workers))
        finally:
            publisher.stop()
            if pipeline is not None:
                stop_pipeline(*pipeline)
    return 0


def run_worker(settings: HubSettings) -> int:
    """`hub worker`: the pipeline worker in this process until SIGINT or SIGTERM."""
    import threading

    from hub.pipeline.jobs import run_pipeline_worker

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s %(message)s")
    settings.ensure_dirs()
    check_home(settings)
    request = StopRequest(threading.Event())
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request.request)
    run_pipeline_worker(settings, request)
    return 0


def start_checkpoints(settings: HubSettings) -> Any:
    """The audit checkpoint publisher (hub.audit.publisher), a thread of this process."""
    from hub.audit.log import AuditLog
    from hub.audit.publisher import CheckpointPublisher
    from hub.keys.config import load_security_keys
    from hub.state.migrate import open_state_store

    publisher = CheckpointPublisher(
        AuditLog(open_state_store(settings.resolved_state_url),
                 synchronous=settings.audit.synchronous),
        load_security_keys(settings).signing_key(), settings.audit_dir,
        settings.audit.checkpoint_records, settings.audit.checkpoint_seconds)
    publisher.start()
    return publisher


def demo_resident(settings: HubSettings, manifest: Any) -> tuple[str, str] | None:
    """(raw ID from the demo grid extract, its street) of a resident with published facts from
    at least two departments (the one `hub demo` suggests looking up), else from one: in a
    large district the departments' extracts cover a smaller share of the registry."""
    import pandas as pd

    from catalog.db import create_state_engine
    from desensitize.pseudonym import Pseudonymiser
    from hub.keys.config import load_keyring
    from hub.views.read import ViewReader, resident_key_for_id_number

    grid = pd.read_csv(manifest.datasets["grid"].path, dtype=str, encoding="utf-8", nrows=2000)
    engine = create_state_engine(settings.resolved_state_url)
    reader = ViewReader(engine)
    fallback: tuple[str, str] | None = None
    try:
        with Pseudonymiser(load_keyring(settings).pseudonym_key) as p:
            for raw in grid["身份证号"].dropna():
                key = resident_key_for_id_number(raw, p)
                doc = reader.resident(key) if key else None
                with_facts = [d for d in (doc or {}).get("departments", []) if d.get("facts")]
                if not doc or not doc["location"]["street_code"] or not with_facts:
                    continue
                found = (str(raw), str(doc["location"]["street_code"]))
                if len(with_facts) >= 2:
                    return found
                fallback = fallback or found
    finally:
        engine.dispose()
    return fallback


def print_demo_access(settings: HubSettings, manifest: Any, console: Any) -> None:
    """Create one token per role for the demo, print them and a ready `curl` look-up.

    The demo district is synthetic, so printing one of its ID numbers on the demo console is
    the point; a real installation never does this."""
    from hub.keys.config import load_security_keys
    from hub.security.tokens import TokenStore
    from hub.state.migrate import open_state_store

    found = demo_resident(settings, manifest)
    if found is None:
        console.print("no published resident found: tokens not created")
        return
    raw_id, street = found
    engine = open_state_store(settings.resolved_state_url)
    try:
        store = TokenStore(engine, load_security_keys(settings).token_pepper)
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
    url = f"http://{settings.serve.host}:{settings.serve.port}"
    console.print("look up a demo resident (street office, purpose stated, ID in the body):")
    console.print(
        f"  curl -s -X POST {url}/v1/residents/search "
        f"-H 'Authorization: Bearer {tokens['street_office']}' "
        "-H 'Content-Type: application/json' "
        f"-d '{{\"id_number\": \"{raw_id}\", \"purpose\": \"assistance_review\"}}'",
        soft_wrap=True, markup=False)
    console.print(f"  API documentation: {url}/docs", markup=False)
    from hub.web.demo_users import print_demo_users

    print_demo_users(settings, console, url, street, raw_id)
