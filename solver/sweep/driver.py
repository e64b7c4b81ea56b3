"""`run_sweep`: a whole sweep on COMM_WORLD, from the plan to the closed store.

    plan (solver.sweep.plan) -> store opened on rank 0 (solver.sweep.store) -> forms compiled
    once (solver.fem.study.precompile) -> points solved by worker groups (solver.sweep.runner)

The same call runs on every rank of an MPI job; progress reaches a :class:`Progress` on rank
0 and messages a `say` callback, and the counts returned are the same on every rank.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional, Protocol


class Progress(Protocol):
    """Where a sweep reports its points (the CLI draws a bar; the API can collect rows)."""

    def start(self, total: int, already_done: int) -> None: ...
    def update(self, row: dict) -> None: ...
    def close(self) -> None: ...


class NoProgress:
    def start(self, total: int, already_done: int) -> None:
        pass

    def update(self, row: dict) -> None:
        pass

    def close(self) -> None:
        pass


def run_sweep(config, out: Path, resume: bool = False, force: bool = False, ranks_per_point: int = 1,
              shard_spec: Optional[str] = None, say: Callable[[str], None] = lambda text: None,
              progress: Optional[Progress] = None) -> dict:
    """Plan, open the store, precompile, solve; returns counts (the same on every rank)."""
    from mpi4py import MPI

    import solver.fem.compat  # noqa: F401 (PETSc initialises collectively: on every rank, first)
    from solver.config import config_to_yaml, solve_hash
    from solver.errors import Interrupted
    from solver.fem.study import precompile
    from solver.sweep.plan import expand, shard
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
                    "they are solved again")
        except Exception as err:  # noqa: BLE001 (re-raised on every rank below)
            error = err
    error = world.bcast(error, root=0)
    if error is not None:
        raise error
    stored = world.bcast(stored, root=0)
    todo = [p for p in points if p.point_id not in stored]
    if world.rank == 0 and todo:
        say(f"sweep {config.name}: {len(todo)} of {len(points)} points to solve on {world.size} rank(s)")
        precompile(config)
    world.Barrier()

    progress = progress if progress is not None and world.rank == 0 else NoProgress()
    progress.start(len(points), len(points) - len(todo))
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
            progress.close()
    counts = world.bcast(counts, root=0)
    if stopped:
        stored = len(points) - len(todo) + counts["solved"]
        raise Interrupted(f"interrupted: {stored} of {len(points)} points are stored in {out / 'sweep.h5'}; "
                          f"continue with `filatherm sweep ... --resume`")
    outcome = {**counts, "stored": len(points) - len(todo), "wall_time": time.perf_counter() - start}
    if config.sweep.error_estimate and shard_spec is None:
        outcome["mesh_error"] = run_error_sweeps(config, out, resume, force, ranks_per_point, say)
    return outcome



def run_error_sweeps(config, out: Path, resume: bool, force: bool, ranks_per_point: int,
                     say: Callable[[str], None]) -> dict:
    """`sweep.error_estimate`: the config's own parameter set on the coarse and fine meshes
    (solver.fem.mesh_error) into OUT/mesh_error/<level>/, resumable like the sweep itself."""
    from solver.fem.mesh_error import MESH_ERROR_DIR, error_sweep_configs

    outcomes = {}
    for level, level_config in error_sweep_configs(config).items():
        say(f"error estimate: the {level} mesh ({level_config.mesh.size:g} / {level_config.mesh.filament_size:g} "
            f"{config.units})")
        outcomes[level] = run_sweep(level_config, Path(out) / MESH_ERROR_DIR / level, resume=resume, force=force,
                                    ranks_per_point=ranks_per_point, say=say)
    return outcomes
