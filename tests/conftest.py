"""Shared helpers for the test suite."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from solver.config.yamlio import read_yaml_file

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "configs" / "default.yaml"


@pytest.fixture
def default_raw() -> dict:
    """configs/default.yaml as raw data (a fresh copy per test)."""
    return copy.deepcopy(read_yaml_file(DEFAULT_CONFIG))


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None):
    """Run `python -m solver ARGS` in a subprocess; returns the CompletedProcess."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("FILATHERM_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "solver", *args],
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout, env=full_env,
    )


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
