"""A ready sbatch script for a sweep (`filatherm slurm`, solver.sweep.slurm_command).

The script runs the sweep with srun (one MPI job over all tasks), resumable: resubmitting it
after a timeout continues where it stopped. With --array N it becomes a job array of N shards,
each writing results/<name>/shard-<i>-of-<N>/; `filatherm merge` combines them afterwards.
`followup_script` is the dependent job (`sbatch --dependency=afterok:<id>`) that merges the
shards (for an array) and fits the compact model once the sweep has succeeded.

Every value that lands on an `#SBATCH` line is checked: sbatch reads those lines itself, not
through a shell, so a newline in a path would start a line of its own (a command, in the
script body). Paths with control characters are refused; the rest are quoted.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Optional

from solver.errors import InputError


def directive_value(value: str, what: str) -> str:
    """A value for an `#SBATCH` line: no control characters (a newline would end the directive
    and start a script line), double-quoted when it has spaces."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value) or '"' in value:
        raise InputError(f"{what} {value!r}: contains a control character or a quote; not usable in an "
                         "#SBATCH line")
    return f'"{value}"' if any(c.isspace() for c in value) else value


def activation_lines(explicit: str | None) -> list[str]:
    """How a job activates filatherm. Activation scripts (conda's in particular) read unset
    variables, so they run before `set -u` takes effect."""
    return ["set +u  # activation scripts read unset variables", activation_line(explicit), "set -u"]


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
                  output: Optional[str | Path] = None, account: Optional[str] = None,
                  mem: Optional[str] = None, qos: Optional[str] = None, constraint: Optional[str] = None,
                  mpi: Optional[str] = None) -> str:
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
    lines += _options(partition=partition, account=account, mem=mem, qos=qos, constraint=constraint)
    log = out.resolve() / ("slurm-%A_%a.out" if array else "slurm-%j.out")
    if array:
        lines.append(f"#SBATCH --array=0-{array - 1}")
    lines += [
        f"#SBATCH --output={directive_value(str(log), '--output')}",
        "set -eo pipefail",
        f"cd {shlex.quote(str(Path.cwd()))}",
        *activation_lines(env),
        "export OMP_NUM_THREADS=1  # one MPI rank per core; threads would oversubscribe it",
    ]
    shard = [f'--shard "$SLURM_ARRAY_TASK_ID/{array}"'] if array else []
    srun = ["srun"] + ([f"--mpi={mpi}"] if mpi else [])
    lines.append(" ".join(srun + [shlex.join(command)] + shard))
    if array:
        lines.append(f"# after the last task: filatherm merge {shlex.quote(str(out.resolve()))}/shard-*-of-{array} "
                     f"--output {shlex.quote(str(out.resolve()))}")
    return "\n".join(lines) + "\n"


def followup_script(name: str, out: Path, array: Optional[int] = None, env: Optional[str] = None,
                    partition: Optional[str] = None, account: Optional[str] = None, qos: Optional[str] = None,
                    time_limit: str = "01:00:00") -> str:
    """The job that runs after the sweep succeeded (sbatch --dependency=afterok:<sweep job>):
    merge the shards of an array, then fit the compact model (one task)."""
    results = out.resolve()
    lines = ["#!/bin/bash", f"#SBATCH --job-name=filatherm-{name}-fit", "#SBATCH --nodes=1",
             "#SBATCH --ntasks=1", f"#SBATCH --time={time_limit}"]
    lines += _options(partition=partition, account=account, qos=qos)
    lines += [f"#SBATCH --output={directive_value(str(results / 'slurm-fit-%j.out'), '--output')}",
              "set -eo pipefail", f"cd {shlex.quote(str(Path.cwd()))}", *activation_lines(env)]
    if array:
        shards = f"{shlex.quote(str(results))}/shard-*-of-{array}"
        lines.append(f"filatherm merge {shards} --output {shlex.quote(str(results))} --force")
    lines.append(f"filatherm fit {shlex.quote(str(results))} --force")
    return "\n".join(lines) + "\n"


def _options(**values: Optional[str]) -> list[str]:
    return [f"#SBATCH --{key}={directive_value(value, '--' + key)}" for key, value in values.items() if value]
