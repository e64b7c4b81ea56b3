"""`filatherm pulses RESULTS_DIR`: the pulse response of a fitted device with a state
(solver.compact.pulses) -> RESULTS_DIR/pulses/pulses.json, pulses.png."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR",
                        help="results directory with model/compact_model.json, or a compact_model.json")


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.compact.pulses import run_pulses

    response, files = run_pulses(args.results, args.output, args.set or (), args.force,
                                 lambda text: say(text, args.quiet))
    say(f"pulse response: {response.states_up} / {response.states_down} states (LTP / LTD), symmetry point "
        f"{response.symmetry_point['state']} {response.state_unit} -> {files[0].parent}", args.quiet)
    return 0
