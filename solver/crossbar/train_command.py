"""`filatherm train RESULTS_DIR`: train an MLP on crossbars of the fitted device.

RESULTS_DIR holds model/compact_model.json (or is the path of any compact_model.json);
results go to RESULTS_DIR/train/ (DIR/train/ with --output DIR). `--set training.epochs=4`
and other training/crossbar keys change the run. Arguments as `filatherm crossbar`.
"""

from __future__ import annotations

import argparse

from solver.crossbar.command import add_arguments  # noqa: F401 (the verb's arguments)

OUTPUT_HELP = "write DIR/train/ instead of RESULTS_DIR/train/"


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.crossbar.family_runs import run_for_family
    from solver.crossbar.training_run import run_training

    run_for_family(run_training, args.results, args.output, args.set or (), args.force,
                   lambda text: say(text, args.quiet))
    return 0
