"""`filatherm merge DIR...`: one sweep.h5 (+ sweep.csv) from the stores of a sharded sweep."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stores", nargs="+", metavar="DIR",
                        help="shard result directories (or their sweep.h5 files)")


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.errors import InputError
    from solver.sweep.merge import merge_stores

    if args.set:
        raise InputError("--set: merge combines stored results and takes no config overrides")
    merged = merge_stores(args.stores, args.output, args.force)
    say(f"merged {merged['stores']} stores: {merged['points']} points ({merged['failed']} failed) -> "
        f"{merged['output'] / 'sweep.h5'}", args.quiet)
    return 0
