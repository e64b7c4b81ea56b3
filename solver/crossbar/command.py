"""`filatherm crossbar RESULTS_DIR`: crossbar experiments with the fitted compact model.

RESULTS_DIR holds model/compact_model.json (or is the path of any compact_model.json);
results go to RESULTS_DIR/crossbar/ (DIR/crossbar/ with --output DIR). `--set` may change the
crossbar (and kinetics, training) keys of the config stored in the model. A family of models
(a parameter sweep) runs for every variant (solver.crossbar.family_runs).
"""

from __future__ import annotations

import argparse

OUTPUT_HELP = "write DIR/crossbar/ instead of RESULTS_DIR/crossbar/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR",
                        help="results directory with model/compact_model.json, or a compact_model.json")


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.crossbar.experiments import run_experiments
    from solver.crossbar.family_runs import run_for_family

    run_for_family(run_experiments, args.results, args.output, args.set or (), args.force,
                   lambda text: say(text, args.quiet))
    return 0
