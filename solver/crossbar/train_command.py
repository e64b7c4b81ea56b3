"""`filatherm train RESULTS_DIR`: train an MLP on crossbars of the fitted device.

RESULTS_DIR holds model/compact_model.json (or is the path of any compact_model.json);
results go to RESULTS_DIR/train/ (DIR/train/ with --output DIR). `--set training.epochs=4`
and other training/crossbar keys change the run.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR",
                        help="results directory with model/compact_model.json, or a compact_model.json")


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.crossbar.training_run import run_training

    run_training(args.results, args.output, args.set or (), getattr(args, "force", False),
                 lambda text: say(text, args.quiet))
    return 0
