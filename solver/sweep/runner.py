"""Running a sweep under MPI: worker groups, a work queue on world rank 0, one store writer.

COMM_WORLD splits into groups of `ranks_per_point` ranks; each group solves one chunk of a
branch at a time on its own communicator (DOLFINx distributes that group's mesh). World rank 0
leads group 0 *and* serves the queue: between two of its own points it answers requests and
stores the rows other groups send, so a slow chunk near runaway never stalls the rest. Rows go
to the store as soon as a point completes (see solver.sweep.store).

Messages (world communicator, pickled): a group leader sends REQUEST and receives a Chunk (or
None: no more work) with tag WORK; it sends each finished row with tag RESULT.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Optional

from solver.config import Config, section_hash, with_overrides
from solver.config.sections import MESH
from solver.errors import InputError
from solver.fem.study import SteadyStudy
from solver.sweep.plan import Chunk, SweepPoint, chunks
from solver.sweep.store import flatten_record

REQUEST, WORK, RESULT = 11, 12, 13


class StopRequest:
    """Set by SIGINT: finish the point in flight, take no new work (a second Ctrl-C aborts)."""

    def __init__(self):
        self.requested = False

    def __enter__(self) -> "StopRequest":
        import signal

        self._previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):
            self.requested = True
            signal.signal(signal.SIGINT, signal.default_int_handler)

        signal.signal(signal.SIGINT, handler)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        signal.signal(signal.SIGINT, self._previous)


class GroupSolver:
    """Solves chunks on one group's communicator, rebuilding only what a point changes: the
    mesh when a swept parameter changes the geometry, the study when it changes anything."""

    def __init__(self, config: Config, comm):
        self.config = config
        self.comm = comm
        self._mesh_key = self._study_key = None
        self.study: Optional[SteadyStudy] = None

    def _prepare(self, parameters: dict) -> SteadyStudy:
        variant = with_overrides(self.config, parameters) if parameters else self.config
        key = repr(sorted(parameters.items()))
        if key != self._study_key:
            mesh_key = section_hash(variant, MESH)
            cell_mesh = self.study.cell_mesh if self.study is not None and mesh_key == self._mesh_key else None
            if self.study is not None:
                self.study.close()
            self.study = SteadyStudy(variant, self.comm, cell_mesh)
            self._mesh_key, self._study_key = mesh_key, key
        return self.study

    def close(self) -> None:
        if self.study is not None:
            self.study.close()
            self.study = None

    def solve_chunk(self, chunk: Chunk, emit: Callable[[dict], None],
                    stop: Callable[[], bool] = lambda: False) -> None:
        """Continue from rest through the chunk's points (increasing |drive|), emitting rows;
        `stop()` (agreed on the group: the leader's answer) ends the chunk between points."""
        study = self._prepare(chunk.points[0].parameter_dict)
        agreed_stop = lambda: self.comm.bcast(stop() if self.comm.rank == 0 else None, root=0)  # noqa: E731
        for point, (_, record) in zip(chunk.points, study.branch([p.drive for p in chunk.points], agreed_stop)):
            emit(point_row(point, record))


def point_row(point: SweepPoint, record: dict) -> dict:
    row = flatten_record(record, point.parameter_dict)
    row["point_id"] = point.point_id
    row["point_index"] = point.index
    return row


def run_points(config: Config, todo: list[SweepPoint], ranks_per_point: int,
               store_row: Optional[Callable[[dict], None]], on_row: Callable[[dict], None],
               stop: StopRequest) -> bool:
    """Solve `todo` on all of COMM_WORLD; rows reach `store_row` on world rank 0. Returns
    whether world rank 0 was asked to stop (the same answer on every rank)."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    if world.size % ranks_per_point:
        raise InputError(f"--ranks-per-point {ranks_per_point}: does not divide the {world.size} ranks")
    group = world.Split(world.rank // ranks_per_point, world.rank)
    solver = GroupSolver(config, group)
    n_groups = world.size // ranks_per_point
    leader = group.rank == 0
    wants_stop = lambda: stop.requested  # noqa: E731
    if world.rank == 0:
        _serve_and_work(world, group, solver, deque(chunks(todo, n_groups)), n_groups, store_row, on_row,
                        wants_stop)
    elif leader:
        while True:
            world.send(None, dest=0, tag=REQUEST)
            chunk = world.recv(source=0, tag=WORK)
            group.bcast(chunk, root=0)
            if chunk is None:
                break
            solver.solve_chunk(chunk, lambda row: world.send(row, dest=0, tag=RESULT), wants_stop)
    else:
        while True:
            chunk = group.bcast(None, root=0)
            if chunk is None:
                break
            solver.solve_chunk(chunk, lambda row: None, wants_stop)
    solver.close()
    group.Free()
    return bool(world.bcast(stop.requested if world.rank == 0 else None, root=0))


def _serve_and_work(world, group, solver: GroupSolver, queue: deque, n_groups: int,
                    store_row, on_row, wants_stop: Callable[[], bool]) -> None:
    from mpi4py import MPI

    waiting_leaders = n_groups - 1  # leaders that have not been told "no more work"
    status = MPI.Status()

    def handle(block: bool) -> None:
        nonlocal waiting_leaders
        while block or world.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status):
            message = world.recv(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)
            if status.Get_tag() == RESULT:
                store_row(message)
                on_row(message)
            elif status.Get_tag() == REQUEST:
                chunk = queue.popleft() if queue and not wants_stop() else None
                world.send(chunk, dest=status.Get_source(), tag=WORK)
                waiting_leaders -= chunk is None
            block = False

    def own_row(row: dict) -> None:
        store_row(row)
        on_row(row)
        handle(block=False)  # between own points, keep the others fed

    # Hand every other group its first chunk before starting on ours: a request that waited
    # for our first point would leave that group idle for as long.
    for _ in range(n_groups - 1):
        handle(block=True)
    while queue and not wants_stop():
        handle(block=False)
        if not queue or wants_stop():
            break
        chunk = queue.popleft()
        group.bcast(chunk, root=0)
        solver.solve_chunk(chunk, own_row, wants_stop)
    group.bcast(None, root=0)
    while waiting_leaders > 0:
        handle(block=True)
