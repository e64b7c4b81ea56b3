"""`filatherm calibrate CONFIG MEASUREMENTS [--resume] [--ranks N]`: fit the config's
`calibration.parameters` to the measurements (docs/measurements.md).

Writes results/<name>/calibration/ (or DIR with --output DIR): calibration.json,
calibrated.yaml, residuals.png, summary.md and the solve journal. Run it under mpirun, or give
--ranks N to start `mpirun -n N` itself; --resume continues a killed run, --force starts over.
"""

from __future__ import annotations

import argparse
from pathlib import Path

OUTPUT_HELP = "write calibration.json, calibrated.yaml, plots and the journal into DIR instead of results/<name>/calibration/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file with a `calibration:` section")
    parser.add_argument("measurements", metavar="MEASUREMENTS", help="measurement file (.yaml or .csv)")
    add_job_arguments(parser, "calibration")


def add_job_arguments(parser: argparse.ArgumentParser, stored: str) -> None:
    """--resume, --ranks and --watchdog: the options of a job of branch solves on a task pool
    (calibrate, sensitivity; solver.calibration.pool). `stored` names what --resume continues."""
    parser.add_argument("--resume", action="store_true", help=f"continue a stored {stored} (its solved points)")
    parser.add_argument("--ranks", type=int, default=1, metavar="N",
                        help="run as `mpirun -n N` (default 1: this process, or the ranks it runs on)")
    parser.add_argument("--watchdog", type=float, default=300.0, metavar="SECONDS",
                        help="under MPI, end the job when a rank has sent nothing for this long and for 20x the "
                             "slowest point so far (a stopped or hung rank; default 300)")


def check_job_arguments(args: argparse.Namespace) -> None:
    from solver.errors import InputError

    if args.ranks < 1:
        raise InputError("--ranks: must be at least 1")
    if not args.watchdog > 0:
        raise InputError("--watchdog: must be a positive number of seconds")


def job_flags(args: argparse.Namespace) -> list[str]:
    """The job options a child `mpirun -n N` is given again (all but --ranks)."""
    return (["--resume"] * args.resume + ["--force"] * args.force + ["--quiet"] * args.quiet
            + ["--watchdog", repr(args.watchdog)])


def output_dir(args: argparse.Namespace, config) -> Path:
    return Path(args.output) if args.output else Path("results") / config.name / "calibration"


def run(args: argparse.Namespace) -> int:
    from solver.cli import load_config_from_args, say

    check_job_arguments(args)
    config = load_config_from_args(args)
    out = output_dir(args, config)
    report = lambda text: say(text, args.quiet)  # noqa: E731
    if args.ranks > 1:
        from solver.calibration.launch import run_under_mpirun

        run_under_mpirun("calibrate", config, out, args.ranks,
                         [str(Path(args.measurements).resolve()), *job_flags(args)], report)
        return 0
    from solver.calibration.workflow import calibrate
    from solver.fem.compat import configure

    configure()
    calibrate(config, args.measurements, out, resume=args.resume, force=args.force, say=report,
              watchdog=args.watchdog)
    return 0
