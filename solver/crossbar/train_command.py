"""`filatherm train RESULTS_DIR`: train an MLP on crossbars of the fitted device.

RESULTS_DIR holds model/compact_model.json (or is the path of any compact_model.json);
results go to RESULTS_DIR/train/ (DIR/train/ with --output DIR). `--set training.epochs=4`,
`--set training.algorithm=chopped_tiki_taka` and other training/crossbar keys change the run.

    filatherm train RESULTS_DIR             training.json: float, fitted and linear with training.algorithm
    filatherm train RESULTS_DIR --compare   compare.json: the fitted device with every training.compare algorithm
    filatherm train RESULTS_DIR --map       map.json: accuracy maps over k, asymmetry and device spread

A killed run continues from its last finished epoch when run again with the same settings.
"""

from __future__ import annotations

import argparse

from solver.crossbar.command import add_arguments as add_results_argument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_results_argument(parser)
    parser.add_argument("--compare", action="store_true",
                        help="train the fitted device with every algorithm of training.compare -> train/compare.json")
    parser.add_argument("--map", action="store_true",
                        help="design maps: accuracy vs half-select ratio k, its asymmetry and the device spread, "
                             "per algorithm -> train/map.json")

OUTPUT_HELP = "write DIR/train/ instead of RESULTS_DIR/train/"


def run(args: argparse.Namespace) -> int:
    from solver.cli import say

    def talk(text: str) -> None:
        say(text, args.quiet)

    chosen = []
    if args.compare:
        from solver.crossbar.training_run import run_comparison

        chosen.append(run_comparison)
    if args.map:
        from solver.crossbar.design_map import run_design_map

        chosen.append(run_design_map)
    if not chosen:
        from solver.crossbar.training_run import run_training

        chosen.append(run_training)
    from solver.crossbar.family_runs import run_for_family

    for function in chosen:  # for every variant of a family (solver.crossbar.family_runs)
        run_for_family(function, args.results, args.output, args.set or (), args.force, talk)
    return 0
