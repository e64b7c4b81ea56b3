"""`run_sweep`: a whole sweep on COMM_WORLD, from the plan to the closed store.

    plan (solver.sweep.plan) -> store opened and locked on rank 0 (solver.sweep.store) ->
    forms compiled once (solver.fem.study.precompile) -> points solved by worker groups
    (solver.sweep.runner)

The same call runs on every rank of an MPI job; progress reaches a :class:`Progress` on rank
0 and messages a `say` callback, and the counts returned are the same on every rank. A stop
(SIGINT, SIGTERM) or a store that cannot be written (a full disk) ends the sweep on every rank
alike, with the stored rows kept: :class:`SweepInterrupted` (exit 128 + the signal) or the
store's error (exit 2).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Optional, Protocol

from solver.errors import FilathermError, InputError, Interrupted


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


class SweepInterrupted(Interrupted):
    """A sweep stopped by a signal: what is stored, where. `announced`: the caller's
    `on_stop` has already told the user (from the signal handler, at once)."""

    def __init__(self, stored: int, total: int, store: Path, signal: str, announced: bool):
        self.stored, self.total, self.store, self.signal, self.announced = stored, total, store, signal, announced
        self.exit_code = 143 if signal == "SIGTERM" else 130
        super().__init__(f"interrupted ({signal}): {stored} of {total} points are stored in {store}")


# Environment variables with the number of tasks a launcher started (srun, mpirun, hydra).
_LAUNCHED_TASKS = ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE")


def check_one_communicator(world_size: int) -> None:
    """A launcher that started N tasks whose MPI does not connect them gives N separate
    one-rank jobs: each would solve every point. Refuse that at start-up."""
    for key in _LAUNCHED_TASKS:
        value = os.environ.get(key, "")
        if value.isdigit() and int(value) > world_size:
            raise InputError(f"the launcher started {value} tasks ({key}) but MPI sees {world_size} rank(s) in "
                             "one job: the tasks do not form one communicator (with srun, pass the MPI plugin "
                             "this MPI needs, e.g. `srun --mpi=pmix`, or `filatherm slurm --mpi pmix`)")


def job_communicator(comm=None):
    """`comm`, or else COMM_WORLD once it is known to be one job (check_one_communicator)."""
    if comm is not None:
        return comm
    from mpi4py import MPI

    check_one_communicator(MPI.COMM_WORLD.size)
    return MPI.COMM_WORLD


def run_sweep(config, out: Path, resume: bool = False, force: bool = False, ranks_per_point: int = 1,
              shard_spec: Optional[str] = None, say: Callable[[str], None] = lambda text: None,
              progress: Optional[Progress] = None,
              on_stop: Optional[Callable[["SweepInterrupted"], None]] = None,
              watchdog_minimum: float = 300.0) -> dict:
    """Plan, open the store, precompile, solve; returns counts (the same on every rank).

    `on_stop(interrupted)` runs on rank 0 as soon as a stop signal arrives (a launcher may kill
    the job a second later); `watchdog_minimum` [s] is the least silence of a worker group
    that counts as frozen (solver.sweep.mailbox.Watchdog)."""
    import solver.fem.compat  # noqa: F401 (PETSc initialises collectively: on every rank, first)
    from solver.config import config_to_yaml, solve_hash
    from solver.fem.study import precompile
    from solver.limits import check_plan_size
    from solver.sweep.plan import expand, shard
    from solver.sweep.runner import StopRequest, run_points
    from solver.sweep.store import SweepWriter
    from solver.versions import versions

    world = job_communicator()
    start = time.perf_counter()
    check_plan_size(config)
    points = shard(expand(config), shard_spec)
    writer, stored, error = None, set(), None
    if world.rank == 0:
        try:
            writer = SweepWriter(out, config_to_yaml(config), solve_hash(config), versions(),
                                 study=config.analysis.kind)
            writer.start(resume=resume, force=force)
            stored = writer.stored_ids
            dropped = writer.dropped
            if dropped["torn"]:
                say(f"sweep: dropped {dropped['torn']} torn row(s) left by an interrupted run; "
                    "they are solved again")
            if dropped["corrupt"] or dropped["duplicates"]:
                say(f"sweep: dropped {dropped['corrupt']} damaged and {dropped['duplicates']} repeated journal "
                    "line(s); those points are solved again")
        except Exception as err:  # noqa: BLE001 (re-raised on every rank below)
            error = err
    error = world.bcast(error, root=0)
    if error is not None:
        raise error
    stored = world.bcast(stored, root=0)
    todo = [p for p in points if p.point_id not in stored]

    def warm_up() -> None:
        if not todo:
            return
        say(f"sweep {config.name}: {len(todo)} of {len(points)} points to solve on {world.size} rank(s)")
        if world.size > 1:  # a single process compiles as it goes: it has no cache to race on
            precompile(config)  # a failure closes the store in the `finally` around run_points

    progress = progress if progress is not None and world.rank == 0 else NoProgress()
    progress.start(len(points), len(points) - len(todo))
    counts = {"solved": 0, "failed": 0}

    def on_row(row: dict) -> None:
        counts["solved"] += 1
        counts["failed"] += row.get("status") != "ok"
        progress.update(row)

    def interrupted(signal: str, announced: bool) -> SweepInterrupted:
        held = len(points) - len(todo) + counts["solved"]
        return SweepInterrupted(held, len(points), out / "sweep.h5", signal, announced)

    def announce(signal: str) -> None:
        if on_stop is not None:
            on_stop(interrupted(signal, True))

    with StopRequest(announce if world.rank == 0 else None) as stop:
        try:
            failure = run_points(config, todo, ranks_per_point, writer.append if writer else None, on_row, stop,
                                 watchdog_minimum, warm_up)
        finally:
            if writer is not None:
                try:
                    writer.close()
                except FilathermError:
                    pass  # the journal holds every stored row; the views are rebuilt on resume
            progress.close()
    counts = world.bcast(counts, root=0)
    signal = world.bcast(stop.signal if world.rank == 0 else None, root=0)
    if failure is not None:
        raise failure
    if signal is not None:
        raise interrupted(signal, on_stop is not None)
    outcome = {**counts, "stored": len(points) - len(todo), "wall_time": time.perf_counter() - start}
    if config.sweep.error_estimate and shard_spec is None:
        outcome["mesh_error"] = run_error_sweeps(config, out, resume, force, ranks_per_point, say, on_stop,
                                                 watchdog_minimum)
    return outcome


def run_error_sweeps(config, out: Path, resume: bool, force: bool, ranks_per_point: int,
                     say: Callable[[str], None], on_stop=None, watchdog_minimum: float = 300.0) -> dict:
    """`sweep.error_estimate`: the config's own parameter set on the coarse and fine meshes
    (solver.fem.mesh_error) into OUT/mesh_error/<level>/, resumable like the sweep itself."""
    from solver.fem.mesh_error import MESH_ERROR_DIR, error_sweep_configs

    outcomes = {}
    for level, level_config in error_sweep_configs(config).items():
        say(f"error estimate: the {level} mesh ({level_config.mesh.size:g} / {level_config.mesh.filament_size:g} "
            f"{config.units})")
        outcomes[level] = run_sweep(level_config, Path(out) / MESH_ERROR_DIR / level, resume=resume, force=force,
                                    ranks_per_point=ranks_per_point, say=say, on_stop=on_stop,
                                    watchdog_minimum=watchdog_minimum)
    return outcomes
