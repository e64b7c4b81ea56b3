"""`filatherm sweep CONFIG [--resume] [--force] [--ranks-per-point K] [--shard i/N]` (under mpirun).

Writes results/<name>/sweep.h5 and sweep.csv (a shard: results/<name>/shard-<i>-of-<N>/).
"""

from __future__ import annotations

import argparse

from solver.cli import ERROR_ESTIMATE_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    parser.add_argument("--resume", action="store_true", help="continue a stored sweep; stored points are kept")
    parser.add_argument("--ranks-per-point", type=int, default=1, metavar="K",
                        help="MPI ranks that solve one point together (default 1)")
    parser.add_argument("--shard", metavar="i/N", help="solve only shard i of N (cluster job arrays)")
    parser.add_argument("--error-estimate", action="store_true", help=ERROR_ESTIMATE_HELP)


def run(args: argparse.Namespace) -> int:
    from solver.cli import SweepProgress, load_config_from_args, results_dir, say
    from solver.errors import InputError
    from solver.sweep.driver import run_sweep

    if args.ranks_per_point < 1:
        raise InputError("--ranks-per-point: must be at least 1")
    config = load_config_from_args(args, ("sweep.error_estimate=true",) if args.error_estimate else ())
    out = results_dir(args, config)
    if args.shard:
        i, n = args.shard.split("/") if "/" in args.shard else (args.shard, "?")
        out = out / f"shard-{i}-of-{n}"
    outcome = run_sweep(config, out, resume=args.resume, force=args.force, ranks_per_point=args.ranks_per_point,
                        shard_spec=args.shard, say=lambda text: say(text, args.quiet),
                        progress=SweepProgress(args.quiet))
    say(f"sweep {config.name}: {outcome['solved']} points solved, {outcome['failed']} failed, "
        f"{outcome['stored']} already stored, {outcome['wall_time']:.1f} s -> {out / 'sweep.h5'}", args.quiet)
    return 0
