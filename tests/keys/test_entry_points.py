"""Every process loads keys through the checking loader: the API, the pipeline worker and the
CLI refuse an exposed key before touching any data; `hub demo` makes a new home's keys."""

from __future__ import annotations

import io
import os

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from typer.testing import CliRunner

from desensitize.errors import KeyFileInsecure, KeyMissing
from desensitize.keys import PSEUDONYM_KEY_FILE, TOKEN_PEPPER_FILE, VAULT_KEY_FILE
from hub.api.app import create_app
from hub.pipeline.worker import PipelineWorker
from hub.settings import HubSettings
from tests.keys.keys_kit import assert_no_key_material, unwrapped


def test_the_api_refuses_to_start_with_a_world_readable_key(settings: HubSettings) -> None:
    path = settings.keys_dir / TOKEN_PEPPER_FILE
    path.chmod(0o644)
    with pytest.raises(KeyFileInsecure) as info, TestClient(create_app(settings)):
        pass
    assert_no_key_material(str(info.value), path.read_text())
    assert not (settings.state_dir / "state.sqlite").exists()  # refused before any store


def test_the_api_refuses_to_start_without_its_keys(bare_settings: HubSettings) -> None:
    with pytest.raises(KeyMissing, match="hub keys init"), \
            TestClient(create_app(bare_settings)):
        pass


def test_the_pipeline_worker_refuses_a_world_readable_key(settings: HubSettings) -> None:
    path = settings.keys_dir / PSEUDONYM_KEY_FILE
    path.chmod(0o604)
    with pytest.raises(KeyFileInsecure) as info, PipelineWorker(settings):
        pass
    assert_no_key_material(str(info.value), path.read_text())
    assert not settings.warehouse_path.exists()  # no warehouse made under unusable keys


def test_the_pipeline_worker_of_a_new_home_needs_keys_init(bare_settings: HubSettings) -> None:
    with pytest.raises(KeyMissing, match="hub keys init"), PipelineWorker(bare_settings):
        pass
    assert not bare_settings.warehouse_path.exists()  # `hub keys init` still works after


@pytest.mark.parametrize(("key_file", "command"), [(VAULT_KEY_FILE, ["init"]),
                                                    (TOKEN_PEPPER_FILE, ["token", "list"])])
def test_cli_commands_refuse_with_the_loader_message(settings: HubSettings, key_file: str,
                                                     command: list[str]) -> None:
    from hub.cli.main import app

    path = settings.keys_dir / key_file
    path.chmod(0o640)
    refused = CliRunner().invoke(app, command)
    assert refused.exit_code == 4
    assert unwrapped(f"chmod 600 {path}") in unwrapped(refused.output)
    assert_no_key_material(refused.output, path.read_text())


def test_demo_makes_the_keys_of_a_new_home(bare_settings: HubSettings) -> None:
    from hub.cli.demo import run_demo

    quiet = Console(file=io.StringIO(), width=160)
    run_demo(bare_settings, residents=150, seed=5, serve=False, console=quiet,
             progress_console=quiet)  # exit 1 when this tiny district has a batch rejected
    assert "published views of" in quiet.file.getvalue()  # type: ignore[attr-defined]
    assert (bare_settings.home / "ref" / "places.csv").is_file()  # the demo's place names
    names = sorted(p.name for p in bare_settings.keys_dir.glob("*.key"))
    assert len(names) == 4
    keys = [(bare_settings.keys_dir / n).read_text() for n in names]
    assert_no_key_material(quiet.file.getvalue(), *keys)  # type: ignore[attr-defined]
    # A second demo on the same home keeps the keys its data was made with.
    run_demo(bare_settings, residents=150, seed=5, serve=False, console=quiet,
             progress_console=quiet)
    assert [(bare_settings.keys_dir / n).read_text() for n in names] == keys
    assert os.stat(bare_settings.keys_dir).st_mode & 0o077 == 0
