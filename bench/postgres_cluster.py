"""A throw-away PostgreSQL cluster for the B3 and B5 rows on PostgreSQL.

initdb + pg_ctl from the newest /usr/lib/postgresql/<n>/bin, as an unprivileged user
(PostgreSQL refuses root: the folder goes to `postgres` or `nobody`, commands through
runuser), on a free port of 127.0.0.1, removed afterwards. Unlike the tests' cluster it keeps
fsync and full-page writes on; `synchronous_commit=off` matches the SQLite state store's
`synchronous=NORMAL` (a power cut may lose the last commits, never corrupts).
`find_bindir()` is None when the server is not installed: the benchmark then skips its
PostgreSQL rows and says why.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

SUPERUSER = "hub"
SKIP_REASON = ("PostgreSQL server binaries not found (Debian: apt-get install postgresql; "
               "initdb and pg_ctl under /usr/lib/postgresql/<n>/bin)")


def find_bindir() -> Path | None:
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/<n>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_user() -> str | None:
    """Who runs the server: None for the current user, unless that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root, and neither a postgres nor a nobody user exists")


def _run(user: str | None, root: Path, *args: str) -> None:
    prefix = ["runuser", "-u", user, "--"] if user else []
    done = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False,
                          cwd=root)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr[-1500:]}")


@contextlib.contextmanager
def postgres_cluster(bindir: Path) -> Iterator[str]:
    """A running cluster; yields the SQLAlchemy URL of its empty database `hub`."""
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="hub-bench-pg-"))
    user = service_user()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port, data = free_port(), root / "data"
    started = False
    try:
        _run(user, root, str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A",
             "trust", "-E", "UTF8", "--locale=C")
        options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
                   "-c synchronous_commit=off -c max_connections=200 "
                   "-c shared_buffers=512MB")
        _run(user, root, str(bindir / "pg_ctl"), "-D", str(data), "-l",
             str(root / "server.log"), "-o", options, "-w", "-t", "120", "start")
        started = True
        with psycopg.connect(host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as con:
            con.execute("CREATE DATABASE hub")
        yield f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/hub"
    finally:
        if started:
            with contextlib.suppress(RuntimeError):
                _run(user, root, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                     "stop")
        shutil.rmtree(root, ignore_errors=True)
