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
# A fixed reference cell without a device state (ohmic TaOx CMO, ion-hopping kinetics): the
# physics regressions and the synthetic compact-model tests use it, so that their reference
# numbers do not move with the product's default device.
STATIC_CONFIG = ROOT / "configs" / "static_cell.yaml"


def pytest_configure(config):
    """The process-wide settings the CLI makes before it solves (solver.fem.compat.configure)."""
    try:
        from solver.fem.compat import configure
    except ImportError:  # no DOLFINx: the FEM tests skip themselves
        return
    configure()


@pytest.fixture
def default_raw() -> dict:
    """configs/default.yaml as raw data (a fresh copy per test)."""
    return copy.deepcopy(read_yaml_file(DEFAULT_CONFIG))


def child_env(extra: dict | None = None) -> dict:
    """Environment for child processes, passed explicitly: once this process has initialised
    MPI, its C-level environment carries OpenMPI singleton variables (invisible in os.environ)
    that make a nested mpirun fail silently."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OMPI_", "PMIX_", "PMI_", "ORTE_", "OPAL_")) and k != "FILATHERM_DEBUG"}
    env.update(extra or {})
    return env


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None):
    """Run `python -m solver ARGS` in a subprocess; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "solver", *args],
        cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout, env=child_env(env),
    )


MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]


def run_mpi(ranks: int, *args: str, timeout: float = 600, env: dict | None = None):
    """Run `mpirun -n RANKS python -m solver ARGS`; returns the CompletedProcess."""
    return subprocess.run(
        [*MPIRUN, "-n", str(ranks), sys.executable, "-m", "solver", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=child_env(env),
    )


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def fitted_results(tmp_path_factory):
    """A results directory with a synthetic default-like sweep and its fitted compact model."""
    import numpy as np

    from solver.compact.synthetic import write_synthetic_sweep
    from solver.compact.workflow import fit_results
    from solver.config import load_config

    root = tmp_path_factory.mktemp("fitted")
    write_synthetic_sweep(root, load_config(STATIC_CONFIG), np.linspace(-1.5, 1.5, 31))
    fit_results(root, say=lambda text: None)
    return root
