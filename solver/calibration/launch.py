"""Running `filatherm calibrate` or `filatherm sensitivity` as an MPI job of its own (`--ranks N`,
or the Python API's `ranks=N`): the resolved config goes to OUT/.config.yaml and a child
`mpirun -n N python -m solver VERB ...` runs in a clean environment (solver.sweep.launch), its
progress printed as it comes; a failure is reported with the child's last lines, bad input with
the child's one line; an interrupt is forwarded to the child (its journal keeps what is solved)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from solver.config import Config, config_to_yaml
from solver.errors import Interrupted
from solver.io import ensure_dir, write_text_atomic


def run_under_mpirun(verb: str, config: Config, out: Path, ranks: int, arguments: list[str],
                     say: Callable[[str], None] = lambda text: None) -> None:
    """`mpirun -n RANKS python -m solver VERB OUT/.config.yaml ARGUMENTS --output OUT`."""
    from solver.sweep.launch import clean_mpi_environment, mpirun_command, raise_child_failure, stop_child

    env = clean_mpi_environment()
    resolved = write_text_atomic(ensure_dir(out) / ".config.yaml", config_to_yaml(config))
    command = mpirun_command(ranks, env) + [sys.executable, "-m", "solver", verb, str(resolved), *arguments,
                                            "--output", str(out)]
    # stderr to a file, not a pipe: a child that writes much to stderr while its stdout is read
    # line by line would block on a full pipe
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=errors, text=True)
        assert child.stdout is not None
        try:
            for line in child.stdout:
                say(line.rstrip("\n"))
            code = child.wait()
        except KeyboardInterrupt:
            stop_child(child)
            raise Interrupted(f"interrupted: {verb} on {ranks} MPI ranks stopped; the points solved are in "
                              f"{Path(out) / '.journal.jsonl'} (--resume continues)") from None
        errors.seek(0)
        detail = (errors.read().strip() or "no output").splitlines()
    if code != 0:
        raise_child_failure(f"{verb} on {ranks} MPI ranks", code, detail)
