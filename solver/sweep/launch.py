"""Running a sweep as an MPI job of its own: `mpirun -n N python -m solver sweep` from a process
that may already run MPI (the pipeline, the Python API, a notebook)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from solver.config import Config, config_to_yaml
from solver.errors import FilathermError, InputError, Interrupted
from solver.io import ensure_dir, write_text_atomic

STOP_GRACE = 30.0  # s: how long an interrupted child mpirun may take to stop its ranks
ERROR = "filatherm: error: "  # how the command line starts an error line


def raise_child_failure(what: str, code: int, detail: list[str]) -> None:
    """A child mpirun that exited with `code` != 0, its output lines `detail`: bad input (exit 2)
    is the child's own one line, the last one starting with ERROR (mpirun may add lines after
    it; without such a line, the last line); anything else names the last lines."""
    said = [line.removeprefix(ERROR) for line in detail if line.startswith(ERROR)]
    if code == 2 and detail:
        raise InputError(said[-1] if said else detail[-1])
    raise FilathermError(f"{what} failed (exit {code}): " + " | ".join(detail[-5:]))


def stop_child(child: subprocess.Popen) -> None:
    """Ctrl-C reached a launcher: hand it to the child mpirun, which forwards the stop to its
    ranks (killing mpirun instead would orphan them), and kill it after STOP_GRACE. Its output
    is drained meanwhile, so that a full pipe cannot hold it up."""
    child.send_signal(signal.SIGINT)
    try:
        child.communicate(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()


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
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = child.communicate()
    except KeyboardInterrupt:
        stop_child(child)  # rank 0 keeps what is stored
        raise Interrupted(f"interrupted: the sweep on {ranks} MPI ranks stopped; the points solved are stored "
                          f"in {Path(out) / 'sweep.h5'}") from None
    if child.returncode != 0:
        raise_child_failure(f"sweep on {ranks} MPI ranks", child.returncode,
                            (stderr.strip() or stdout.strip() or "no output").splitlines())
