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
    parser.add_argument("--error-estimate", action="store_true",
                        help="also solve on a coarser and a finer mesh (sizes x2, /2) and report every "
                             "quantity's Richardson limit and the error of its value (steady solves)")


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
    if args.error_estimate and config.analysis.kind == "transient":
        raise InputError("--error-estimate: steady solves only (use analysis.kind: steady)")
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
        if args.error_estimate:
            from solver.fem.mesh_error import solve_on_three_meshes

            _, estimates = solve_on_three_meshes(config, drive, comm, progress, {"medium": record})
            record = {**record, "mesh_error": {key: e.to_data() for key, e in estimates.items()}}
    if comm.rank == 0:
        write_json_atomic(out / "qoi.json", record_with_units(record))
    say(summary_line(record), args.quiet)
    if record.get("mesh_error"):
        from solver import quantities
        from solver.fem.mesh_error import error_lines
        from solver.richardson import Estimate

        estimates = {key: Estimate.from_data(data) for key, data in record["mesh_error"].items()}
        say("discretisation error (Richardson, meshes x2 and /2):", args.quiet)
        for line in error_lines(estimates, lambda key: quantities.describe(key).unit):
            say(line, args.quiet)
    fields = out / "fields.xdmf"
    say(f"wrote {out / 'qoi.json'}" + (f" and {fields}" if record["converged"] else ""), args.quiet)
    return 0 if record["converged"] else 1

