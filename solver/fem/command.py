"""`filatherm solve CONFIG [--voltage V | --current A]` -> <results>/solve/qoi.json, fields.xdmf."""

from __future__ import annotations

import argparse
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    drive = parser.add_mutually_exclusive_group()
    drive.add_argument("--voltage", type=float, metavar="V",
                       help="applied voltage (default: electrical.top.voltage, or the pulse amplitude)")
    drive.add_argument("--current", type=float, metavar="A", help="terminal current (current terminal)")


def run(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from solver.cli import load_config_from_args, refuse_overwrite, results_dir, say
    from solver.config.schema import CurrentTerminal
    from solver.errors import InputError
    from solver.io import ensure_dir, write_json_atomic

    config = load_config_from_args(args)
    current_terminal = isinstance(config.electrical.top, CurrentTerminal)
    if current_terminal and args.voltage is not None:
        raise InputError("--voltage: the top terminal is current-controlled; use --current")
    if not current_terminal and args.current is not None:
        raise InputError("--current: the top terminal is voltage-controlled; use --voltage")
    out = results_dir(args, config) / "solve"
    comm = MPI.COMM_WORLD
    refuse_overwrite(out / "qoi.json", args.force)  # every rank sees the same files
    if comm.rank == 0:
        ensure_dir(out)
    comm.barrier()

    if config.analysis.kind == "transient":
        from solver.fem.transient import run_transient

        record = run_transient(config, comm, out, args)
    else:
        override = args.current if current_terminal else args.voltage
        drive = override if override is not None else (
            config.electrical.top.current if current_terminal else config.electrical.top.voltage)
        record = solve_steady(config, comm, drive, out, quiet=args.quiet)
    if comm.rank == 0:
        write_json_atomic(out / "qoi.json", record)
    say(summary_line(record), args.quiet)
    say(f"wrote {out / 'qoi.json'} and {out / 'fields.xdmf'}", args.quiet)
    return 0 if record["converged"] else 1


def solve_steady(config, comm, drive: float, out, quiet: bool = False) -> dict:
    """Mesh, solve by continuation from rest to `drive`, write fields; the QoI record."""
    from solver.cli import say
    from solver.fem.continuation import Continuation
    from solver.fem.mesh import build_mesh
    from solver.fem.output import write_fields
    from solver.fem.problem import ElectroThermalProblem
    from solver.fem.qoi import ProbeQuantities, qoi_record

    start = time.perf_counter()
    problem = ElectroThermalProblem(config, build_mesh(config, comm))
    say(f"solving {config.name}: {problem.dofs} dofs, drive {drive:g}", quiet)
    cont = config.solver.continuation
    continuation = Continuation(problem, cont.max_step, cont.min_step)
    result = continuation.advance(drive)
    record = qoi_record(problem, ProbeQuantities(problem), drive, result.status, result.iterations,
                        time.perf_counter() - start, result.reason, result.last_converged)
    record["continuation_solves"] = result.solves
    record["total_newton_iterations"] = result.total_iterations
    if result.converged:
        write_fields(problem, out / "fields.xdmf")
    return record


def summary_line(record: dict) -> str:
    if not record["converged"]:
        return f"status {record['status']}: {record['reason']}"
    if "peaks" in record:
        peaks = record["peaks"]
        return (f"peak T_max {peaks['T_max']:.1f} K at {peaks['T_max_time']:.3g} s, peak current "
                f"{peaks['current']:.4g} A, 90% rise time {record['thermal_time_constant']:.3g} s, "
                f"{record['steps']} steps ({record['rejected_steps']} rejected), "
                f"{record['wall_time_s']:.1f} s")
    return (f"V_device {record['voltage_device']:.4g} V  I {record['current']:.4g} A  "
            f"T_max {record['T_max']:.1f} K  energy balance {record['energy_balance']:.1e}  "
            f"{record['newton_iterations']} Newton iterations  {record['wall_time_s']:.2f} s")
