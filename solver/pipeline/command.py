"""`filatherm run CONFIG [--ranks N]`: the whole pipeline (solver.pipeline.stages)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from solver.cli import ERROR_ESTIMATE_HELP

OUTPUT_HELP = "write every stage under DIR (meshes in DIR/meshes/) instead of results/<name>/ and meshes/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    parser.add_argument("--ranks", type=int, default=1, metavar="N",
                        help="MPI ranks for the sweep (runs `mpirun -n N filatherm sweep`; default 1)")
    parser.add_argument("--error-estimate", action="store_true", help=ERROR_ESTIMATE_HELP)


def rerun_command(args: argparse.Namespace) -> str:
    """The command that continues this run (it reuses every finished stage)."""
    words = ["filatherm", "run", args.config]
    for assignment in args.set or ():
        words += ["--set", assignment]
    if args.output:
        words += ["--output", args.output]
    if args.ranks != 1:
        words += ["--ranks", str(args.ranks)]
    if args.error_estimate:
        words += ["--error-estimate"]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    from solver.cli import load_config_from_args, results_dir, say
    from solver.errors import InputError, Interrupted
    from solver.pipeline.stages import Pipeline, RunOptions

    if args.ranks < 1:
        raise InputError("--ranks: must be at least 1")
    config = load_config_from_args(args, ("sweep.error_estimate=true",) if args.error_estimate else ())
    if config.geometry.is_3d:
        raise InputError(f"geometry.kind: the pipeline runs the axisymmetric cell; for a {config.geometry.kind} "
                         "use `filatherm solve`, `sweep` or `crosstalk`")
    meshes = Path(args.output) / "meshes" if args.output else Path("meshes")
    pipeline = Pipeline(config, results_dir(args, config), RunOptions(args.ranks, args.force, meshes),
                        say=lambda text: say(text, args.quiet))
    try:
        summary = pipeline.run()
    except Interrupted as stop:
        again = Interrupted(f"{stop}; continue with: {rerun_command(args)}")
        again.exit_code = stop.exit_code
        raise again from None
    say(f"done in {pipeline.total:.1f} s: report {summary}", args.quiet)
    return 0
