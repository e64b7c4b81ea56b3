"""Running a sweep as an MPI job of its own: `mpirun -n N python -m solver sweep` from a process
that may already run MPI (the pipeline, the Python API, a notebook)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from solver.config import Config, config_to_yaml
from solver.errors import FilathermError
from solver.io import ensure_dir, write_text_atomic


def clean_mpi_environment() -> dict:
    """This process's environment without the variables an MPI runtime sets in its ranks
    (Open MPI, PMIx, PMI). Once a process has initialised MPI, Open MPI has put its singleton
    settings there, and a child mpirun that inherits them exits silently."""
    prefixes = ("OMPI_", "PMIX_", "PMI_", "ORTE_", "OPAL_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def mpirun_command(ranks: int, env: dict) -> list[str]:
    """The launcher with the options this MPI needs (Open MPI: oversubscribe, root)."""
    launcher = shutil.which("mpirun") or shutil.which("mpiexec")
    if launcher is None:
        raise FilathermError("no mpirun or mpiexec on PATH")
    command = [launcher]
    version = subprocess.run([launcher, "--version"], capture_output=True, text=True, env=env).stdout
    if "Open MPI" in version:
        command += ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    return command + ["-n", str(ranks)]


def sweep_under_mpirun(config: Config, out: Path, ranks: int, start_over: bool) -> None:
    """Solve `config`'s sweep into OUT on `ranks` MPI ranks, resuming what OUT holds unless
    `start_over`. The child gets the resolved config (OUT/.pipeline/config.yaml) and a clean
    environment; a failure is reported with the child's own last lines."""
    env = clean_mpi_environment()
    resolved = write_text_atomic(ensure_dir(Path(out) / ".pipeline") / "config.yaml", config_to_yaml(config))
    command = mpirun_command(ranks, env) + [
        sys.executable, "-m", "solver", "sweep", str(resolved), "--output", str(out),
        "--force" if start_over else "--resume", "--quiet"]
    child = subprocess.run(command, env=env, capture_output=True, text=True)
    if child.returncode != 0:
        detail = (child.stderr.strip() or child.stdout.strip() or "no output").splitlines()
        raise FilathermError(f"sweep on {ranks} MPI ranks failed (exit {child.returncode}): "
                             + " | ".join(detail[-5:]))
