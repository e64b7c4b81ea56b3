"""`filatherm sensitivity CONFIG [--all | --parameter PATH ...] [--step H] [--points N] [--resume] [--ranks N]`:
normalised local sensitivities of the headline figures to the config's numbers (no data
needed; solver.calibration.sensitivity).

Writes results/<name>/sensitivity/ (or DIR with --output DIR): sensitivity.json, sensitivity.md
(the ranked table) and tornado.png. Cost: 1 + 2 x (parameters that change solved points) coarse
sweeps of 2 x N points; kinetics parameters are free. Run it under mpirun or with --ranks N.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from solver.calibration.command import add_job_arguments, check_job_arguments, job_flags

OUTPUT_HELP = "write sensitivity.json, .md, tornado.png and the journal into DIR instead of results/<name>/sensitivity/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from solver.calibration.sensitivity import DEFAULT_POINTS, DEFAULT_STEP

    parser.add_argument("config", metavar="CONFIG", help="YAML config file (with a kinetics block)")
    parser.add_argument("--all", action="store_true",
                        help="every material, geometry and kinetics number (default: a small set, docs/measurements.md)")
    parser.add_argument("--parameter", action="append", default=[], metavar="PATH",
                        help="a config key path to perturb (repeatable; replaces the default set)")
    parser.add_argument("--step", type=float, default=DEFAULT_STEP, metavar="H",
                        help=f"each parameter is multiplied by exp(-H) and exp(+H) (default {DEFAULT_STEP})")
    parser.add_argument("--points", type=int, default=DEFAULT_POINTS, metavar="N",
                        help=f"voltages per polarity of each coarse sweep (default {DEFAULT_POINTS})")
    add_job_arguments(parser, "study")


def run(args: argparse.Namespace) -> int:
    from solver.cli import load_config_from_args, say
    from solver.errors import InputError

    check_job_arguments(args)
    if args.all and args.parameter:
        raise InputError("sensitivity: --all and --parameter exclude each other")
    config = load_config_from_args(args)
    out = Path(args.output) if args.output else Path("results") / config.name / "sensitivity"
    report = lambda text: say(text, args.quiet)  # noqa: E731
    if args.ranks > 1:
        from solver.calibration.launch import run_under_mpirun

        flags = (["--all"] * args.all + [f"--parameter={p}" for p in args.parameter]
                 + ["--step", repr(args.step), "--points", str(args.points)] + job_flags(args))
        run_under_mpirun("sensitivity", config, out, args.ranks, flags, report)
        return 0
    from solver.calibration.sensitivity import sensitivity
    from solver.fem.compat import configure

    configure()
    sensitivity(config, out, args.parameter or None, "all" if args.all else "default", args.step, args.points,
                resume=args.resume, force=args.force, say=report, watchdog=args.watchdog)
    return 0
