"""`filatherm config CONFIG`: print (or write) the fully resolved config."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

OUTPUT_HELP = "write DIR/config.yaml instead of printing the config"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")


def run(args: argparse.Namespace) -> int:
    from solver.cli import is_root_rank, load_config_from_args, refuse_overwrite, say
    from solver.config import config_to_yaml

    text = config_to_yaml(load_config_from_args(args))
    if args.output:
        from solver.io import write_text_atomic

        target = Path(args.output) / "config.yaml"
        refuse_overwrite(target, args.force)
        write_text_atomic(target, text)
        say(f"resolved config written to {target}", args.quiet)
    elif is_root_rank():
        sys.stdout.write(text)
    return 0
