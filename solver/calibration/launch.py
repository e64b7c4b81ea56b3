"""Running `filatherm calibrate` or `filatherm sensitivity` as an MPI job of its own (`--ranks N`,
or the Python API's `ranks=N`): the resolved config goes to OUT/.config.yaml and a child
`mpirun -n N python -m solver VERB ...` runs in a clean environment (solver.sweep.launch), its
progress printed as it comes; a failure is reported with the child's last lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Callable

from solver.config import Config, config_to_yaml
from solver.errors import FilathermError, InputError
from solver.io import ensure_dir, write_text_atomic


def run_under_mpirun(verb: str, config: Config, out: Path, ranks: int, arguments: list[str],
                     say: Callable[[str], None] = lambda text: None) -> None:
    """`mpirun -n RANKS python -m solver VERB OUT/.config.yaml ARGUMENTS --output OUT`."""
    from solver.sweep.launch import clean_mpi_environment, mpirun_command

    env = clean_mpi_environment()
    resolved = write_text_atomic(ensure_dir(out) / ".config.yaml", config_to_yaml(config))
    command = mpirun_command(ranks, env) + [sys.executable, "-m", "solver", verb, str(resolved), *arguments,
                                            "--output", str(out)]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    for line in child.stdout:
        say(line.rstrip("\n"))
    error = child.stderr.read() if child.stderr is not None else ""
    code = child.wait()
    if code != 0:
        detail = (error.strip() or "no output").splitlines()
        message = f"{verb} on {ranks} MPI ranks failed (exit {code}): " + " | ".join(detail[-5:])
        raise (InputError if code == 2 else FilathermError)(message)
