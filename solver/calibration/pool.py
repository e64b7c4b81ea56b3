"""An MPI work queue of branch tasks: the FEM solves of a calibration or sensitivity study.

A :class:`Task` is one branch: one parameter set (key-path assignments, the state included),
one polarity, its drives in order of increasing |drive|, continued from rest on one rank
(COMM_SELF) through the study service (solver.fem.study.SteadyStudy.branch). Tasks of a batch
are independent (parameter perturbations, states, polarities), so the ranks take them from a
queue served by rank 0, which also solves tasks itself and answers between its own points
(the scheme of solver.sweep.runner). Each rank keeps its last study: a task of the same
parameter set (the other polarity) reuses it, and a new parameter set that leaves the geometry
alone reuses the mesh. Rank 0 hands each rank the tasks of its last parameter set first, then
those of a set no other rank is on.

    pool = TaskPool(config)          # on every rank
    pool.start()                     # collective: forms compiled once, on rank 0
    if rank == 0:
        pool.run(tasks, on_row)      # rows (key, drive, record) reach on_row on rank 0
        pool.close()
    else:
        pool.serve()                 # until rank 0 closes the pool

A branch is solved whole, in the same way on any rank, so its numbers do not depend on the
number of ranks or on which rank took it. Rank 0 waits for messages with the sweep's watchdog
(solver.sweep.mailbox): a rank that has sent nothing for far longer than the slowest
point so far is stopped or hung, and the job ends naming it (the journal keeps what is solved).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from solver.calibration.journal import Journal
from solver.config import Config, section_hash, with_overrides
from solver.config.sections import MESH
from solver.errors import FilathermError
from solver.sweep.mailbox import Mailbox, StalledRank, Watchdog

REQUEST, WORK, RESULT = 31, 32, 33
BATCH, STOP = "batch", "stop"

Row = Callable[[str, float, dict], None]


@dataclass(frozen=True)
class Task:
    """One branch of one parameter set."""

    key: str
    assignments: tuple[tuple[str, float], ...]  # key path -> value (FEM sections and state.value)
    drives: tuple[float, ...]                   # one polarity, increasing |drive|


def task_key(variant_hash: str, drives: tuple[float, ...]) -> str:
    """A stable key of what a branch's numbers depend on: the solved sections of its config
    (the base config with the task's assignments: solver.config.solve_hash) and its drives."""
    text = json.dumps({"config": variant_hash, "drives": [repr(float(d)) for d in drives]}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def failed_record(drive: float, reason: str) -> dict:
    return {"status": "failed", "converged": False, "reason": reason, "voltage_applied": drive}


class StudyCache:
    """The last study of one rank, rebuilt only when the parameter set changes (the mesh only
    when the geometry does)."""

    def __init__(self, base: Config, comm):
        self.base = base
        self.comm = comm
        self._study = None
        self._key: Optional[tuple] = None
        self._mesh_key: Optional[str] = None

    def study(self, assignments: tuple[tuple[str, float], ...]):
        from solver.fem.study import SteadyStudy

        if assignments == self._key and self._study is not None:
            return self._study
        variant = with_overrides(self.base, dict(assignments)) if assignments else self.base
        mesh_key = section_hash(variant, MESH)
        mesh = self._study.cell_mesh if self._study is not None and mesh_key == self._mesh_key else None
        self.close()
        self._study = SteadyStudy(variant, self.comm, mesh)
        self._key, self._mesh_key = assignments, mesh_key
        return self._study

    def close(self) -> None:
        if self._study is not None:
            self._study.close()
            self._study = None
            self._key = None


def solve_task(cache: StudyCache, task: Task, emit: Row) -> None:
    """Solve one branch, emitting each point's flat record as soon as it is solved. A parameter
    set that cannot be built (an invalid config, a mesh that fails) fails its points."""
    from solver.sweep.store import flatten_record

    try:
        study = cache.study(task.assignments)
    except FilathermError as err:
        cache.close()
        for drive in task.drives:
            emit(task.key, drive, failed_record(drive, str(err)))
        return
    for drive, record in study.branch(list(task.drives)):
        emit(task.key, drive, flatten_record(record))


class TaskPool:
    """Branch tasks solved on the ranks of `comm` (default COMM_WORLD)."""

    def __init__(self, base: Config, comm=None, watchdog_minimum: float = 300.0):
        from mpi4py import MPI

        self.comm = comm if comm is not None else MPI.COMM_WORLD
        self.base = base
        self.cache = StudyCache(base, MPI.COMM_SELF)
        self.points = 0  # points solved by this pool (rank 0: all ranks')
        self._last: dict[int, tuple] = {}  # rank 0: rank -> assignments of the last task it was given
        self.watchdog = Watchdog(watchdog_minimum)
        self.mailbox = Mailbox(self.comm, self.watchdog, "")

    @property
    def ranks(self) -> int:
        return self.comm.size

    def start(self) -> None:
        """Collective: compile the forms once on rank 0 before the ranks solve."""
        from solver.fem.study import precompile

        if self.comm.rank == 0:
            precompile(self.base)
        self.comm.Barrier()

    def run(self, tasks: list[Task], on_row: Row, stop: Callable[[], bool] = lambda: False) -> bool:
        """Rank 0: solve `tasks` on every rank; rows reach `on_row`. Returns whether `stop()`
        ended the batch early (the tasks handed out are finished first)."""
        comm = self.comm
        queue = deque(tasks)
        last = self._last

        def take(rank: int) -> Task:
            """The next task, preferring one of the parameter set `rank` solved last (its study
            is kept), then one of a set no other rank is on: the polarities of a parameter set
            then share one study build instead of one on each rank."""
            others = {assignments for other, assignments in last.items() if other != rank}
            index = next((i for i, task in enumerate(queue) if task.assignments == last.get(rank)),
                         next((i for i, task in enumerate(queue) if task.assignments not in others), 0))
            task = queue[index]
            del queue[index]
            last[rank] = task.assignments
            return task

        def store(key: str, drive: float, record: dict) -> None:
            self.points += 1
            wall = record.get("wall_time_s", 0.0)
            self.watchdog.point_took(wall if isinstance(wall, (int, float)) else 0.0)
            on_row(key, drive, record)

        if comm.size == 1:
            while queue and not stop():
                solve_task(self.cache, take(0), store)
            return bool(queue)
        comm.bcast(BATCH, root=0)
        waiting = comm.size - 1  # workers not yet told that the batch is done
        for rank in range(1, comm.size):  # each owes a request now: silence from here on counts
            self.watchdog.heard(rank, busy=True)

        def handle(block: bool) -> None:
            nonlocal waiting
            while (received := self.mailbox.receive(block)) is not None:
                source, tag, message = received
                self.watchdog.heard(source, busy=True)
                if tag == RESULT:
                    store(*message)
                elif tag == REQUEST:
                    task = take(source) if queue and not stop() else None
                    self.mailbox.send(task, dest=source, tag=WORK)
                    self.watchdog.heard(source, busy=task is not None)
                    waiting -= task is None
                block = False

        def own(key: str, drive: float, record: dict) -> None:
            store(key, drive, record)
            handle(block=False)
            self.mailbox.check()

        for _ in range(comm.size - 1):  # every worker's first task before ours
            handle(block=True)
        while queue and not stop():
            handle(block=False)
            if not queue or stop():
                break
            solve_task(self.cache, take(0), own)
        while waiting > 0:
            handle(block=True)
        return bool(queue)

    def serve(self) -> None:
        """Ranks other than 0: solve the tasks of each batch until rank 0 closes the pool."""
        comm = self.comm
        while comm.bcast(None, root=0) == BATCH:
            while True:
                comm.send(None, dest=0, tag=REQUEST)
                task = comm.recv(source=0, tag=WORK)
                if task is None:
                    break
                solve_task(self.cache, task, lambda key, drive, record: comm.send((key, drive, record), dest=0,
                                                                                  tag=RESULT))
        self.cache.close()

    def close(self, stalled: bool = False) -> None:
        """Rank 0: release the other ranks from `serve` (not when one of them has `stalled`: it
        would never join the collective call)."""
        if self.comm.size > 1 and not stalled:
            self.comm.bcast(STOP, root=0)
        self.cache.close()


def run_with_pool(config, comm, out: Path, resume: bool, force: bool, watchdog: float,
                  body: Callable[[Journal, "TaskPool"], tuple]) -> tuple:
    """The MPI shape of a calibration or a sensitivity study: rank 0 opens the journal of OUT
    (an error there is raised on every rank), every rank joins the task pool, the other ranks
    serve it while rank 0 runs `body(journal, pool)` -> (data, files), and rank 0 broadcasts the
    outcome or its error, so that every rank returns the same (data, files) or raises."""
    journal, error = None, None
    if comm.rank == 0:
        try:
            journal = Journal(out)
            journal.start(resume=resume, force=force)
        except Exception as err:  # noqa: BLE001 (raised on every rank below)
            error = err
    error = comm.bcast(error, root=0)
    if error is not None:
        raise error
    pool = TaskPool(config, comm, watchdog)
    pool.start()
    if comm.rank != 0:
        pool.serve()
        data, files, error = comm.bcast(None, root=0)
        if error is not None:
            raise error
        return data, files
    data, files = None, []
    try:
        data, files = body(journal, pool)
    except BaseException as err:
        error = err
    finally:
        pool.close(stalled=isinstance(error, StalledRank))
        journal.close()
    if not isinstance(error, StalledRank):  # a stalled rank never joins: the error ends the job (the command line)
        comm.bcast((data, files, error if isinstance(error, Exception) else None), root=0)
    if error is not None:
        raise error
    return data, files
