"""A ready sbatch script for a sweep (`filatherm slurm`, solver.sweep.slurm_command).

The script runs the sweep with srun (one MPI job over all tasks), resumable: resubmitting it
after a timeout continues where it stopped. With --array N it becomes a job array of N shards,
each writing results/<name>/shard-<i>-of-<N>/; `filatherm merge` combines them afterwards.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Optional


def activation_line(explicit: str | None) -> str:
    if explicit:
        return explicit
    if sys.prefix != sys.base_prefix:  # running from a venv (activated or not)
        return f"source {shlex.quote(sys.prefix)}/bin/activate"
    if os.environ.get("CONDA_DEFAULT_ENV"):
        return f'eval "$(conda shell.bash hook)" && conda activate {shlex.quote(os.environ["CONDA_DEFAULT_ENV"])}'
    return "# activate the environment that provides `filatherm` here (see README: Running on a cluster)"


def sbatch_script(config_path: str | Path, name: str, out: Path, nodes: int, ntasks_per_node: int,
                  time_limit: str, partition: Optional[str] = None, array: Optional[int] = None,
                  ranks_per_point: int = 1, env: Optional[str] = None, overrides: tuple[str, ...] = (),
                  output: Optional[str | Path] = None) -> str:
    """The sbatch script text (validated arguments; see solver.sweep.slurm_command)."""
    config = Path(config_path).resolve()
    command = ["filatherm", "sweep", str(config), "--resume", "--quiet",
               "--ranks-per-point", str(ranks_per_point)]
    for assignment in overrides:
        command += ["--set", assignment]
    if output:
        command += ["--output", str(Path(output).resolve())]
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=filatherm-{name}",
        f"#SBATCH --nodes={nodes}",
        f"#SBATCH --ntasks-per-node={ntasks_per_node}",
        "#SBATCH --cpus-per-task=1",
        f"#SBATCH --time={time_limit}",
    ]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    log = out.resolve() / ("slurm-%A_%a.out" if array else "slurm-%j.out")
    if array:
        lines.append(f"#SBATCH --array=0-{array - 1}")
    lines += [
        f"#SBATCH --output={log}",
        "set -euo pipefail",
        f"cd {shlex.quote(str(Path.cwd()))}",
        activation_line(env),
        "export OMP_NUM_THREADS=1  # one MPI rank per core; threads would oversubscribe it",
    ]
    shard = [f'--shard "$SLURM_ARRAY_TASK_ID/{array}"'] if array else []
    lines.append("srun " + " ".join([shlex.join(command)] + shard))
    if array:
        lines.append(f"# after the last task: filatherm merge {out.resolve()}/shard-*-of-{array} "
                     f"--output {out.resolve()}")
    return "\n".join(lines) + "\n"
