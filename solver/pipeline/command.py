"""`filatherm run CONFIG [--ranks N]`: the whole pipeline (solver.pipeline.stages)."""

from __future__ import annotations

import argparse
from pathlib import Path

from solver.cli import ERROR_ESTIMATE_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    parser.add_argument("--ranks", type=int, default=1, metavar="N",
                        help="MPI ranks for the sweep (runs `mpirun -n N filatherm sweep`; default 1)")
    parser.add_argument("--error-estimate", action="store_true", help=ERROR_ESTIMATE_HELP)


def run(args: argparse.Namespace) -> int:
    from solver.cli import load_config_from_args, results_dir, say
    from solver.errors import InputError
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
    summary = pipeline.run()
    say(f"done in {pipeline.total:.1f} s: report {summary}", args.quiet)
    return 0
