"""`filatherm sweep CONFIG [--resume] [--force] [--ranks-per-point K] [--shard i/N]` (under mpirun).

Writes results/<name>/sweep.h5 and sweep.csv (a shard: results/<name>/shard-<i>-of-<N>/).
"""

from __future__ import annotations

import argparse
import shlex

from solver.cli import ERROR_ESTIMATE_HELP

OUTPUT_HELP = "write the sweep store (sweep.h5, sweep.csv, journal) into DIR instead of results/<name>/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    parser.add_argument("--resume", action="store_true", help="continue a stored sweep; stored points are kept")
    parser.add_argument("--ranks-per-point", type=int, default=1, metavar="K",
                        help="MPI ranks that solve one point together (default 1)")
    parser.add_argument("--shard", metavar="i/N", help="solve only shard i of N (cluster job arrays)")
    parser.add_argument("--error-estimate", action="store_true", help=ERROR_ESTIMATE_HELP)
    parser.add_argument("--watchdog", type=float, default=300.0, metavar="SECONDS",
                        help="end the job when a worker has sent nothing for this long and for 20x the "
                             "slowest point so far (a stopped or hung rank; default 300)")


def resume_command(args: argparse.Namespace) -> str:
    """The command that continues this sweep: the same config, overrides, --output and shard."""
    words = ["filatherm", "sweep", args.config]
    for assignment in args.set or ():
        words += ["--set", assignment]
    if args.output:
        words += ["--output", args.output]
    if args.shard:
        words += ["--shard", args.shard]
    if args.ranks_per_point != 1:
        words += ["--ranks-per-point", str(args.ranks_per_point)]
    if args.error_estimate:
        words += ["--error-estimate"]
    return shlex.join(words + ["--resume"])


def run(args: argparse.Namespace) -> int:
    import sys

    from solver.cli import SweepProgress, load_config_from_args, results_dir, say, under_mpi
    from solver.errors import InputError
    from solver.sweep.driver import SweepInterrupted, run_sweep
    from solver.sweep.plan import parse_shard

    if args.ranks_per_point < 1:
        raise InputError("--ranks-per-point: must be at least 1")
    if not args.watchdog > 0:
        raise InputError("--watchdog: must be a positive number of seconds")
    config = load_config_from_args(args, ("sweep.error_estimate=true",) if args.error_estimate else ())
    out = results_dir(args, config)
    if args.shard:
        i, n = parse_shard(args.shard)
        out = out / f"shard-{i}-of-{n}"

    launcher = " (under mpirun or srun again)" if under_mpi() else ""

    def on_stop(stop: SweepInterrupted) -> None:
        print(f"filatherm: {stop}; the point in flight is finished or dropped; continue with: "
              f"{resume_command(args)}{launcher}", file=sys.stderr, flush=True)

    outcome = run_sweep(config, out, resume=args.resume, force=args.force, ranks_per_point=args.ranks_per_point,
                        shard_spec=args.shard, say=lambda text: say(text, args.quiet),
                        progress=SweepProgress(args.quiet), on_stop=on_stop, watchdog_minimum=args.watchdog)
    say(f"sweep {config.name}: {outcome['solved']} points solved, {outcome['failed']} failed, "
        f"{outcome['stored']} already stored, {outcome['wall_time']:.1f} s -> {out / 'sweep.h5'}", args.quiet)
    return 0
