"""`filatherm solve CONFIG [--voltage V | --current A]` -> <results>/solve/qoi.json, fields.xdmf."""

from __future__ import annotations

import argparse
import math


def finite_number(text: str) -> float:
    """An argument that must be a finite number (NaN or infinity would never converge)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    drive = parser.add_mutually_exclusive_group()
    drive.add_argument("--voltage", type=finite_number, metavar="V",
                       help="applied voltage [V] (default: the driven terminal's voltage, or the pulse amplitude)")
    drive.add_argument("--current", type=finite_number, metavar="A", help="terminal current [A] (current terminal)")


def run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from solver.cli import load_config_from_args, refuse_overwrite, results_dir, say
    from solver.config.schema import CurrentTerminal
    from solver.errors import InputError
    from solver.fem.study import PulseStudy, SteadyStudy, record_with_units, summary_line
    from solver.io import ensure_dir, write_json_atomic

    config = load_config_from_args(args)
    terminal = config.electrical.terminal
    current_terminal = isinstance(terminal, CurrentTerminal)
    if current_terminal and args.voltage is not None:
        raise InputError("--voltage: the driven terminal is current-controlled; use --current")
    if not current_terminal and args.current is not None:
        raise InputError("--current: the driven terminal is voltage-controlled; use --voltage")
    out = results_dir(args, config) / "solve"
    comm = MPI.COMM_WORLD
    refuse_overwrite(out / "qoi.json", args.force)  # every rank sees the same files
    if comm.rank == 0:
        ensure_dir(out)
    comm.barrier()

    progress = lambda text: say(text, args.quiet)  # noqa: E731
    if config.analysis.kind == "transient":
        study = PulseStudy(config, comm, say=progress)
        try:
            record = study.run(out)
        finally:
            study.close()
    else:
        override = args.current if current_terminal else args.voltage
        drive = override if override is not None else (terminal.current if current_terminal else terminal.voltage)
        with SteadyStudy(config, comm, say=progress) as study:
            progress(f"solving {config.name}: {study.dofs} dofs, drive {drive:g}")
            record = study.solve(drive)
            if record["converged"]:
                study.write_fields(out / "fields.xdmf")
    if comm.rank == 0:
        write_json_atomic(out / "qoi.json", record_with_units(record))
    say(summary_line(record), args.quiet)
    fields = out / "fields.xdmf"
    say(f"wrote {out / 'qoi.json'}" + (f" and {fields}" if record["converged"] else ""), args.quiet)
    return 0 if record["converged"] else 1
