"""`filatherm slurm CONFIG --nodes N --ntasks-per-node M --time HH:MM:SS`: a ready sbatch script
(solver.sweep.slurm), and with --then-fit a dependent job that merges and fits once the sweep
has succeeded."""

from __future__ import annotations

import argparse
import os
import re

# Values sbatch accepts for the resource options (checked before they reach an #SBATCH line).
_NAME = r"[\w.,:+-]+"
_MEMORY = r"\d+[KMGT]?"
OUTPUT_HELP = "write the scripts into DIR, and have the sweep write there, instead of results/<name>/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    parser.add_argument("--nodes", type=int, required=True, metavar="N", help="nodes of the sweep job")
    parser.add_argument("--ntasks-per-node", type=int, required=True, metavar="M",
                        help="MPI ranks per node (one per core)")
    parser.add_argument("--time", required=True, metavar="HH:MM:SS",
                        help="wall-time limit per job; a job that hits it is resubmitted and resumes")
    parser.add_argument("--partition", metavar="P", help="SLURM partition")
    parser.add_argument("--account", metavar="A", help="account to charge (#SBATCH --account)")
    parser.add_argument("--qos", metavar="Q", help="quality of service (#SBATCH --qos)")
    parser.add_argument("--mem", metavar="SIZE", help="memory per node, e.g. 64G (#SBATCH --mem)")
    parser.add_argument("--constraint", metavar="FEATURES", help="node features (#SBATCH --constraint)")
    parser.add_argument("--mpi", metavar="PLUGIN",
                        help="srun's MPI plugin, e.g. pmix or pmi2 (srun --mpi=PLUGIN; default: the site's)")
    parser.add_argument("--array", type=int, metavar="N", help="split the sweep into a job array of N shards")
    parser.add_argument("--ranks-per-point", type=int, default=1, metavar="K",
                        help="MPI ranks that solve one point together (default 1)")
    parser.add_argument("--env", metavar="COMMAND",
                        help="how a job activates filatherm, e.g. 'module load openmpi; conda activate fx' "
                             "(default: the current venv or conda env)")
    parser.add_argument("--then-fit", action="store_true",
                        help="also write fit.sbatch: merge (for --array) and fit once the sweep succeeded, "
                             "submitted with --dependency=afterok")


def run(args: argparse.Namespace) -> int:
    from solver.cli import load_config_from_args, refuse_overwrite, results_dir, say
    from solver.errors import InputError
    from solver.io import write_text_atomic
    from solver.limits import check_plan_size
    from solver.sweep.slurm import followup_script, sbatch_script

    for name in ("nodes", "ntasks_per_node", "ranks_per_point"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')}: must be at least 1")
    if args.array is not None and args.array < 1:
        raise InputError("--array: must be at least 1")
    if not re.fullmatch(r"(\d+-)?\d{1,3}:\d{2}:\d{2}", args.time):
        raise InputError(f"--time {args.time!r}: expected HH:MM:SS or D-HH:MM:SS")
    for option, pattern in (("partition", r"[\w.,-]+"), ("account", _NAME), ("qos", _NAME),
                            ("constraint", r"[\w.,:&|!\[\]*()-]+"), ("mpi", r"[\w.-]+"), ("mem", _MEMORY)):
        value = getattr(args, option)
        if value is not None and not re.fullmatch(pattern, value):
            raise InputError(f"--{option} {value!r}: not a valid {option} value")
    config = load_config_from_args(args)
    check_plan_size(config)
    out = results_dir(args, config)
    target = out / "sweep.sbatch"
    followup = out / "fit.sbatch"
    refuse_overwrite(target, args.force)
    if args.then_fit:
        refuse_overwrite(followup, args.force)
    resources = dict(partition=args.partition, account=args.account, qos=args.qos)
    write_text_atomic(target, sbatch_script(args.config, config.name, out, args.nodes, args.ntasks_per_node,
                                            args.time, array=args.array, ranks_per_point=args.ranks_per_point,
                                            env=args.env, overrides=tuple(args.set or ()), output=args.output,
                                            mem=args.mem, constraint=args.constraint, mpi=args.mpi, **resources))
    os.chmod(target, 0o755)
    if args.then_fit:
        write_text_atomic(followup, followup_script(config.name, out, args.array, args.env, **resources))
        os.chmod(followup, 0o755)
        say(f"wrote {target} and {followup}; submit both with:\n"
            f"  jobid=$(sbatch --parsable {target}) && sbatch --dependency=afterok:${{jobid%%;*}} {followup}",
            args.quiet)
        return 0
    say(f"wrote {target}; submit it with: sbatch {target}", args.quiet)
    if args.array:
        say(f"when all {args.array} array tasks are done: filatherm merge {out}/shard-*-of-{args.array} "
            f"--output {out}", args.quiet)
    return 0
