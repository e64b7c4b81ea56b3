"""`filatherm merge DIR...`: one sweep.h5 (+ sweep.csv) from the stores of a sharded sweep."""

from __future__ import annotations

import argparse

COMMON_OPTIONS = ("output", "force")  # no config to --set: the stores carry theirs
OUTPUT_HELP = "write the merged sweep.h5 into DIR (default: results/<name>/ of the stores' config)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stores", nargs="+", metavar="DIR",
                        help="shard result directories (or their sweep.h5 files)")


def run(args: argparse.Namespace) -> int:
    from solver.cli import say
    from solver.sweep.merge import merge_stores

    merged = merge_stores(args.stores, args.output, args.force)
    say(f"merged {merged['stores']} stores: {merged['points']} points ({merged['failed']} failed) -> "
        f"{merged['output'] / 'sweep.h5'}", args.quiet)
    if merged["missing"]:
        shards = f" ({merged['shards']})" if merged["shards"] else ""
        say(f"merge: incomplete: {merged['missing']} of {merged['planned']} planned points are in none of the "
            f"stores{shards}; `filatherm sweep CONFIG --output {merged['output']} --resume` solves them", False)
    return 0
