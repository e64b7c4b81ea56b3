"""`filatherm merge DIR...`: one sweep.h5 (+ sweep.csv) from the stores of a sharded sweep."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stores", nargs="+", metavar="DIR",
                        help="shard result directories (or their sweep.h5 files)")


def run(args: argparse.Namespace) -> int:
    from solver.cli import refuse_overwrite, say
    from solver.config import validate_config
    from solver.config.yamlio import parse_yaml
    from solver.errors import InputError
    from solver.sweep.store import merge_tables, read_sweep, rows_to_columns, write_csv, write_h5

    if args.set:
        raise InputError("--set: merge combines stored results and takes no config overrides")
    paths = [Path(p) / "sweep.h5" if Path(p).is_dir() else Path(p) for p in args.stores]
    rows, first = merge_tables(read_sweep(p) for p in paths)
    config = validate_config(parse_yaml(first.config_yaml, str(paths[0])), str(paths[0]))
    out = Path(args.output) if args.output else Path("results") / config.name
    refuse_overwrite(out / "sweep.h5", args.force)
    columns = rows_to_columns(rows)
    write_h5(out / "sweep.h5", columns, first.config_yaml, first.config_hash, first.versions)
    write_csv(out / "sweep.csv", columns)
    failed = sum(1 for row in rows if row.get("status") != "ok")
    say(f"merged {len(paths)} stores: {len(rows)} points ({failed} failed) -> {out / 'sweep.h5'}", args.quiet)
    return 0
