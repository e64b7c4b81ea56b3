"""`filatherm report RESULTS_DIR` -> RESULTS_DIR/report/ (solver.report.build)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR", help="results/<name> of a run")


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.errors import InputError
    from solver.report.build import build_report

    if args.set:
        raise InputError("--set: the report shows stored results and takes no config overrides")
    out = build_report(Path(args.results), Path(args.output) if args.output else None,
                       say=lambda text: say(text, args.quiet))
    say(f"report written to {out}", args.quiet)
    return 0
