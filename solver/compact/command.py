"""`filatherm fit RESULTS_DIR`: fit the compact model to RESULTS_DIR/sweep.h5.

Writes RESULTS_DIR/model/ (or DIR/model/ with --output DIR; an existing model is replaced
only with --force); `--set` may change the
kinetics, crossbar and training keys of the stored config (e.g. a different activation
energy) without re-running the FEM sweep.
"""

from __future__ import annotations

import argparse

OUTPUT_HELP = "write DIR/model/ instead of RESULTS_DIR/model/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR", help="directory holding sweep.h5")


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.compact.workflow import fit_results

    fit_results(args.results, args.output, args.set or (), getattr(args, "force", False),
                lambda text: say(text, args.quiet))
    return 0
