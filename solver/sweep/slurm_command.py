"""`filatherm slurm CONFIG --nodes N --ntasks-per-node M --time HH:MM:SS`: a ready sbatch script
(solver.sweep.slurm)."""

from __future__ import annotations

import argparse
import os
import re


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
    from solver.sweep.slurm import sbatch_script

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
    write_text_atomic(target, sbatch_script(args.config, config.name, out, args.nodes, args.ntasks_per_node,
                                            args.time, args.partition, args.array, args.ranks_per_point,
                                            args.env, tuple(args.set or ()), args.output))
    os.chmod(target, 0o755)
    say(f"wrote {target}; submit it with: sbatch {target}", args.quiet)
    if args.array:
        say(f"when all {args.array} array tasks are done: filatherm merge {out}/shard-*-of-{args.array} "
            f"--output {out}", args.quiet)
    return 0
