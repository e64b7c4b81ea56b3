"""`filatherm report RESULTS_DIR` -> RESULTS_DIR/report/ (solver.report.build)."""

from __future__ import annotations

import argparse
from pathlib import Path

COMMON_OPTIONS = ("output", "force")  # the report shows stored results: no config to --set
OUTPUT_HELP = "write DIR/report/ instead of RESULTS_DIR/report/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", metavar="RESULTS_DIR", help="results/<name> of a run")


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.report.build import build_report

    out = build_report(Path(args.results), Path(args.output) if args.output else None,
                       say=lambda text: say(text, args.quiet), force=args.force)
    say(f"report written to {out}", args.quiet)
    return 0
