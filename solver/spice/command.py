"""`filatherm spice-array RESULTS_DIR`: one parallel update of a crossbar simulated in ngspice.

RESULTS_DIR holds model/compact_model.json (or is the path of any compact_model.json);
results go to RESULTS_DIR/spice/ (DIR/spice/ with --output DIR): spice_array.json and .png
(solver.spice.array), array.cir (the netlist with line resistance, runnable with
`ngspice -b`), ir_drop.json and .png (solver.spice.ir_drop). `--set` may change the crossbar
keys, e.g. --set crossbar.line_resistance=2 --set crossbar.cell=1T1R
--set crossbar.spice.scheme=gate_coincidence.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR",
                        help="results directory with model/compact_model.json, or a compact_model.json")
    parser.add_argument("--no-sweep", action="store_true",
                        help="skip the IR-drop sweep over array sizes (numpy model)")


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.spice.workflow import run_spice_array

    run_spice_array(args.results, args.output, args.set or (), getattr(args, "force", False),
                    sweep=not args.no_sweep, say=lambda text: say(text, args.quiet))
    return 0
