"""A throw-away PostgreSQL cluster for the tests: initdb + pg_ctl as an unprivileged user.

PostgreSQL refuses to run as root, and the tests run as root in CI: the cluster's folder is
then given to `postgres` (Debian's package creates it) or `nobody`, and initdb/pg_ctl run as
that user through runuser. It listens on 127.0.0.1 at a free port and on a socket in its own
folder; durability is off (fsync, full-page writes): a crash loses a test database, nothing
else. Each test gets a database of its own (`create_database`).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

# The cluster's pieces the benchmark's PostgreSQL rows use as well.
from bench.postgres_cluster import find_bindir as find_bindir  # re-exported for tests/conftest.py
from bench.postgres_cluster import free_port, service_user

SUPERUSER = "hub"


@dataclass
class PostgresCluster:
    bindir: Path
    root: Path
    port: int
    user: str | None

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False,
                              cwd=self.root)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stderr[-2000:]}\n{tail}")

    @classmethod
    def start(cls, bindir: Path) -> PostgresCluster:
        root = Path(tempfile.mkdtemp(prefix="hub-pg-"))
        user = service_user()
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        cluster = cls(bindir, root, free_port(), user)
        data = root / "data"
        cluster._run(str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "-A", "trust",
                     "-E", "UTF8", "--locale=C", "--no-sync")
        options = (f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        cluster._run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
                     "-o", options, "-w", "-t", "60", "start")
        return cluster

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m",
                      "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                               dbname="postgres", autocommit=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new database: empty, or a copy of `template` (which nobody may be connected to)."""
        name = f"t_{secrets.token_hex(6)}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with self._admin() as con:
            con.execute(f'CREATE DATABASE "{name}"{copy}')
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
