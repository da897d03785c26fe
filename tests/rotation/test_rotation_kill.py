"""A real `hub keys rotate pseudonym` process killed at random moments resumes to the same end
state: every vault entry and curated row still there, every key re-keyed exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from desensitize.vault import VaultCipher
from hub.keys.rotation_errors import RotationInProgress
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from tests.rotation.conftest import District
from tests.rotation.rotation_kit import documents, key_map, query, read_key, substitute

pytestmark = pytest.mark.slow
_TABLES = ["curated.grid", "curated.elderly_care", "curated.medical", "curated.employment",
           "curated.assistance_ledger", "vault.identity"]


def _rotate(settings: HubSettings) -> subprocess.Popen[str]:
    env = {**os.environ, "HUB_HOME": str(settings.home), "HUB_CHUNK_ROWS": "1000",
           "HUB_QUALITY_CHECKS": "false"}
    return subprocess.Popen([sys.executable, "-m", "hub", "keys", "rotate", "pseudonym",
                             "--chunk-residents", "200"], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(proc: subprocess.Popen[str], hit: Callable[[str], bool], delay: float) -> str:
    """SIGKILL shortly after the first progress line `hit` accepts; the outcome."""
    assert proc.stderr is not None
    for line in proc.stderr:
        if hit(line):
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            return "killed" if proc.returncode == -signal.SIGKILL else "finished"
    proc.wait(30)
    return f"finished ({proc.returncode})"


def _counts(settings: HubSettings) -> dict[str, int]:
    return {t: query(settings, f"SELECT count(*) FROM {t}")[0][0] for t in _TABLES}


def _sealed_ids(settings: HubSettings) -> set[str]:
    cipher = VaultCipher(read_key(settings, "vault.key"))
    rows = query(settings, "SELECT resident_key, ciphertext FROM vault.identity "
                           "WHERE field = 'resident_id'")
    return {cipher.open(bytes(c), [b"resident_id", k.encode()]).decode() for k, c in rows}


def test_killed_rotation_resumes_to_the_same_end(home: HubSettings, district: District) -> None:
    residents, _ = documents(home)
    counts, ids, old_key = _counts(home), _sealed_ids(home), read_key(home, "pseudonym.key")
    rng = random.Random(20261122)
    chunk = rng.randint(1, 9)
    # One moment while copying chunks, one in or just after the switch transaction. (Crashes
    # after the key file changed are drilled in-process: test_rotation_refusals.py.)
    kills = [
        (lambda line: line.startswith(f"rotate: re-keying residents {chunk}/"), 0.0),
        (lambda line: line.startswith("rotate: switching 0/"), rng.uniform(0.0, 0.3)),
    ]
    outcomes = []
    for number, (hit, delay) in enumerate(kills):
        outcomes.append(_kill_when(_rotate(home), hit, delay))
        assert _counts(home) == counts  # nothing lost, nothing doubled, whatever the moment
        if number == 0:
            with pytest.raises(RotationInProgress):
                PipelineWorker(home).open()
    assert outcomes[0] == "killed", outcomes

    final = _rotate(home)
    assert final.wait(300) == 0, final.stderr.read() if final.stderr else ""
    assert query(home, "SELECT count(*) FROM meta.key_rotations WHERE state <> 'done'") == [(0,)]
    assert query(home, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'rotation'"
                 ) == [(0,)]
    assert not (home.keys_dir / "pseudonym.key.next").exists()
    assert _counts(home) == counts
    assert _sealed_ids(home) == ids
    mapping = key_map(district.demo, old_key, read_key(home, "pseudonym.key"))
    after, _ = documents(home)
    assert after == {mapping[k]: substitute(text, mapping) for k, text in residents.items()}
    curated = {r[0] for r in query(home, "SELECT resident_key FROM curated.grid")}
    assert curated <= set(mapping.values())
