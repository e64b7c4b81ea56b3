"""`filatherm sweep CONFIG [--resume] [--force] [--ranks-per-point K] [--shard i/N]` (under mpirun).

Writes results/<name>/sweep.h5 and sweep.csv (a shard: results/<name>/shard-<i>-of-<N>/).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="YAML config file")
    parser.add_argument("--resume", action="store_true", help="continue a stored sweep; stored points are kept")
    parser.add_argument("--ranks-per-point", type=int, default=1, metavar="K",
                        help="MPI ranks that solve one point together (default 1)")
    parser.add_argument("--shard", metavar="i/N", help="solve only shard i of N (cluster job arrays)")


def run(args: argparse.Namespace) -> int:
    from solver.cli import load_config_from_args, results_dir, say
    from solver.errors import InputError

    if args.ranks_per_point < 1:
        raise InputError("--ranks-per-point: must be at least 1")
    config = load_config_from_args(args)
    out = results_dir(args, config)
    if args.shard:
        i, n = args.shard.split("/") if "/" in args.shard else (args.shard, "?")
        out = out / f"shard-{i}-of-{n}"
    outcome = run_sweep(config, out, resume=args.resume, force=args.force,
                        ranks_per_point=args.ranks_per_point, shard_spec=args.shard, quiet=args.quiet)
    say(f"sweep {config.name}: {outcome['solved']} points solved, {outcome['failed']} failed, "
        f"{outcome['stored']} already stored, {outcome['wall_time']:.1f} s -> {out / 'sweep.h5'}", args.quiet)
    return 0


def run_sweep(config, out: Path, resume: bool = False, force: bool = False, ranks_per_point: int = 1,
              shard_spec: str | None = None, quiet: bool = False) -> dict:
    """Plan, open the store, precompile, solve; returns counts (the same on every rank)."""
    from mpi4py import MPI

    import solver.fem.compat  # noqa: F401 (PETSc initialises collectively: on every rank, first)
    from solver.cli import say
    from solver.config import config_to_yaml, solve_hash
    from solver.sweep.plan import expand, shard
    from solver.sweep.progress import SweepProgress
    from solver.errors import Interrupted
    from solver.sweep.runner import StopRequest, run_points
    from solver.sweep.store import SweepWriter
    from solver.versions import versions

    world = MPI.COMM_WORLD
    start = time.perf_counter()
    points = shard(expand(config), shard_spec)
    writer, stored, error = None, set(), None
    if world.rank == 0:
        try:
            writer = SweepWriter(out, config_to_yaml(config), solve_hash(config), versions())
            writer.start(resume=resume, force=force)
            stored = writer.stored_ids
            if writer.torn_lines:
                say(f"sweep: dropped {writer.torn_lines} torn row(s) left by an interrupted run; "
                    "they are solved again", quiet)
        except Exception as err:  # noqa: BLE001 (re-raised on every rank below)
            error = err
    error = world.bcast(error, root=0)
    if error is not None:
        raise error
    stored = world.bcast(stored, root=0)
    todo = [p for p in points if p.point_id not in stored]
    if world.rank == 0 and todo:
        say(f"sweep {config.name}: {len(todo)} of {len(points)} points to solve on {world.size} rank(s)", quiet)
        _precompile(config)
    world.Barrier()

    progress = SweepProgress(len(points), len(points) - len(todo), quiet) if world.rank == 0 else None
    counts = {"solved": 0, "failed": 0}

    def on_row(row: dict) -> None:
        counts["solved"] += 1
        counts["failed"] += row.get("status") != "ok"
        progress.update(row)

    with StopRequest() as stop:
        try:
            stopped = run_points(config, todo, ranks_per_point, writer.append if writer else None, on_row, stop)
        finally:
            if writer is not None:
                writer.close()
            if progress is not None:
                progress.close()
    counts = world.bcast(counts, root=0)
    if stopped:
        stored = len(points) - len(todo) + counts["solved"]
        raise Interrupted(f"interrupted: {stored} of {len(points)} points are stored in {out / 'sweep.h5'}; "
                          f"continue with `filatherm sweep ... --resume`")
    return {**counts, "stored": len(points) - len(todo), "wall_time": time.perf_counter() - start}


def _precompile(config) -> None:
    """JIT-compile every form once, on one rank, before the workers start (no compile races
    on a shared cache). Compiled forms depend on neither the mesh nor the law parameters
    (Constants), so a mesh ten times coarser serves every point."""
    from mpi4py import MPI

    from solver.config import with_overrides
    from solver.fem.mesh import build_mesh
    from solver.fem.problem import ElectroThermalProblem
    from solver.fem.qoi import ProbeQuantities

    coarse = with_overrides(config, {"mesh.size": 10 * config.mesh.size,
                                     "mesh.filament_size": min(10 * config.mesh.filament_size,
                                                               10 * config.mesh.size)})
    problem = ElectroThermalProblem(coarse, build_mesh(coarse, MPI.COMM_SELF))
    ProbeQuantities(problem)
    problem.newton.destroy()
