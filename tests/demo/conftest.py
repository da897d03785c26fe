"""One small demo district per session, shared read-only by the demo tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from demo_kit import RESIDENTS, SEED, TODAY

from hub.demo import DemoManifest, generate_demo
from hub.demo.population import Population, build_population


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("demo") / "district", residents=RESIDENTS,
                         seed=SEED, today=TODAY)


@pytest.fixture(scope="session")
def population() -> Population:
    return build_population(RESIDENTS, SEED, np.datetime64(TODAY.isoformat(), "D"))


@pytest.fixture(scope="session")
def out_dir(demo: DemoManifest) -> Path:
    return demo.crosswalk.parent
