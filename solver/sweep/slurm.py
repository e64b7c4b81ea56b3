"""`filatherm slurm CONFIG --nodes N --ntasks-per-node M --time HH:MM:SS`: a ready sbatch script.

The script runs the sweep with srun (one MPI job over all tasks), resumable: resubmitting it
after a timeout continues where it stopped. With --array N it becomes a job array of N shards,
each writing results/<name>/shard-<i>-of-<N>/; `filatherm merge` combines them afterwards.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    parser.add_argument("--nodes", type=int, required=True, metavar="N")
    parser.add_argument("--ntasks-per-node", type=int, required=True, metavar="M")
    parser.add_argument("--time", required=True, metavar="HH:MM:SS", help="wall-time limit per job")
    parser.add_argument("--partition", metavar="P")
    parser.add_argument("--array", type=int, metavar="N", help="split the sweep into a job array of N shards")
    parser.add_argument("--ranks-per-point", type=int, default=1, metavar="K")
    parser.add_argument("--env", metavar="COMMAND",
                        help="how a job activates filatherm (default: the current venv or conda env)")


def run(args: argparse.Namespace) -> int:
    from solver.cli import load_config_from_args, refuse_overwrite, results_dir, say
    from solver.errors import InputError
    from solver.io import write_text_atomic

    for name in ("nodes", "ntasks_per_node", "ranks_per_point"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')}: must be at least 1")
    if args.array is not None and args.array < 1:
        raise InputError("--array: must be at least 1")
    if not re.fullmatch(r"(\d+-)?\d{1,3}:\d{2}:\d{2}", args.time):
        raise InputError(f"--time {args.time!r}: expected HH:MM:SS or D-HH:MM:SS")
    if args.partition is not None and not re.fullmatch(r"[\w.,-]+", args.partition):
        raise InputError(f"--partition {args.partition!r}: not a partition name")
    config = load_config_from_args(args)
    out = results_dir(args, config)
    target = out / "sweep.sbatch"
    refuse_overwrite(target, args.force)
    write_text_atomic(target, sbatch_script(args, config.name, out))
    os.chmod(target, 0o755)
    say(f"wrote {target}; submit it with: sbatch {target}", args.quiet)
    if args.array:
        say(f"when all {args.array} array tasks are done: filatherm merge {out}/shard-*-of-{args.array} "
            f"--output {out}", args.quiet)
    return 0


def activation_line(explicit: str | None) -> str:
    if explicit:
        return explicit
    if sys.prefix != sys.base_prefix:  # running from a venv (activated or not)
        return f"source {shlex.quote(sys.prefix)}/bin/activate"
    if os.environ.get("CONDA_DEFAULT_ENV"):
        return f'eval "$(conda shell.bash hook)" && conda activate {shlex.quote(os.environ["CONDA_DEFAULT_ENV"])}'
    return "# activate the environment that provides `filatherm` here (see README: Running on a cluster)"


def sbatch_script(args: argparse.Namespace, name: str, out: Path) -> str:
    config = Path(args.config).resolve()
    command = ["filatherm", "sweep", str(config), "--resume", "--quiet",
               "--ranks-per-point", str(args.ranks_per_point)]
    for assignment in args.set or []:
        command += ["--set", assignment]
    if args.output:
        command += ["--output", str(Path(args.output).resolve())]
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name=filatherm-{name}",
        f"#SBATCH --nodes={args.nodes}",
        f"#SBATCH --ntasks-per-node={args.ntasks_per_node}",
        "#SBATCH --cpus-per-task=1",
        f"#SBATCH --time={args.time}",
    ]
    if args.partition:
        lines.append(f"#SBATCH --partition={args.partition}")
    log = out.resolve() / ("slurm-%A_%a.out" if args.array else "slurm-%j.out")
    if args.array:
        lines.append(f"#SBATCH --array=0-{args.array - 1}")
    lines += [
        f"#SBATCH --output={log}",
        "set -euo pipefail",
        f"cd {shlex.quote(str(Path.cwd()))}",
        activation_line(args.env),
        "export OMP_NUM_THREADS=1  # one MPI rank per core; threads would oversubscribe it",
    ]
    shard = [f'--shard "$SLURM_ARRAY_TASK_ID/{args.array}"'] if args.array else []
    lines.append("srun " + " ".join([shlex.join(command)] + shard))
    if args.array:
        lines.append(f"# after the last task: filatherm merge {out.resolve()}/shard-*-of-{args.array} "
                     f"--output {out.resolve()}")
    return "\n".join(lines) + "\n"
