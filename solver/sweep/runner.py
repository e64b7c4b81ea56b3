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
from solver.errors import FilathermError, InputError
from solver.fem.study import SteadyStudy
from solver.sweep.mailbox import Mailbox, Watchdog
from solver.sweep.plan import Chunk, SweepPoint, chunks
from solver.sweep.store import flatten_record

REQUEST, WORK, RESULT = 11, 12, 13


class StopRequest:
    """Set by SIGINT or SIGTERM (what mpirun forwards, and what SLURM sends at a time limit):
    finish the point in flight, take no new work. `on_signal(name)` runs at once (rank 0 says
    how to resume before a launcher's grace period ends); a second SIGINT aborts."""

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self, on_signal: Optional[Callable[[str], None]] = None):
        self.requested = False
        self.signal: Optional[str] = None
        self.on_signal = on_signal

    def __enter__(self) -> "StopRequest":
        import signal

        self._previous = {name: signal.getsignal(getattr(signal, name)) for name in self.SIGNALS}

        def handler(signum, frame):
            first = not self.requested
            self.requested = True
            self.signal = signal.Signals(signum).name
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if first and self.on_signal is not None:
                self.on_signal(self.signal)

        for name in self.SIGNALS:
            signal.signal(getattr(signal, name), handler)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        for name, previous in self._previous.items():
            signal.signal(getattr(signal, name), previous)


class GroupSolver:
    """Solves chunks on one group's communicator, with the study the config chose: a steady
    branch continued point to point, or (analysis.kind: transient) one pulse train per point
    with the drive as its amplitude. Only what a point changes is rebuilt: the mesh when a
    swept parameter changes the geometry, the study when it changes anything."""

    def __init__(self, config: Config, comm):
        self.config = config
        self.comm = comm
        self.transient = config.analysis.kind == "transient"
        self._mesh_key = self._study_key = None
        self.study: Optional[SteadyStudy] = None
        self.cell_mesh = None

    def _variant(self, parameters: dict, drive: Optional[float] = None) -> Config:
        assignments = dict(parameters)
        if drive is not None:
            assignments["analysis.pulse.amplitude"] = drive
        return with_overrides(self.config, assignments) if assignments else self.config

    def _mesh_for(self, variant: Config):
        """The cell mesh of the previous point if the geometry is the same, else None."""
        mesh_key = section_hash(variant, MESH)
        reuse = self.cell_mesh if mesh_key == self._mesh_key else None
        self._mesh_key = mesh_key
        return reuse

    def prepare_mesh(self, parameters: dict) -> None:
        """Build the mesh of a point's geometry ahead of its study: meshing needs no compiled
        forms, so groups other than rank 0's mesh while rank 0 compiles them (run_points)."""
        from solver.fem.mesh import build_mesh

        variant = self._variant(parameters)
        if self._mesh_for(variant) is None:
            self.cell_mesh = build_mesh(variant, self.comm)

    def _prepare(self, parameters: dict) -> SteadyStudy:
        variant = self._variant(parameters)
        key = repr(sorted(parameters.items()))
        if key != self._study_key:
            cell_mesh = self._mesh_for(variant)
            if self.study is not None:
                self.study.close()
            self.study = SteadyStudy(variant, self.comm, cell_mesh)
            self.cell_mesh = self.study.cell_mesh
            self._study_key = key
        return self.study

    def close(self) -> None:
        if self.study is not None:
            self.study.close()
            self.study = None

    def solve_chunk(self, chunk: Chunk, emit: Callable[[dict], None],
                    stop: Callable[[], bool] = lambda: False) -> None:
        """Solve the chunk's points (increasing |drive|), emitting rows; `stop()` (agreed on the
        group: the leader's answer) ends the chunk between points."""
        agreed_stop = lambda: self.comm.bcast(stop() if self.comm.rank == 0 else None, root=0)  # noqa: E731
        if self.transient:
            self._pulses(chunk, emit, agreed_stop)
            return
        study = self._prepare(chunk.points[0].parameter_dict)
        for point, (_, record) in zip(chunk.points, study.branch([p.drive for p in chunk.points], agreed_stop)):
            emit(point_row(point, record))

    def _pulses(self, chunk: Chunk, emit: Callable[[dict], None], stop: Callable[[], bool]) -> None:
        """One pulse train per point, each from rest (a pulse does not continue the last)."""
        from solver.fem.study import PulseStudy

        for point in chunk.points:
            if stop():
                return
            variant = self._variant(point.parameter_dict, point.drive)
            study = PulseStudy(variant, self.comm, self._mesh_for(variant))
            self.cell_mesh = study.cell_mesh
            try:
                record = study.run()
            except FilathermError as err:  # a failure inside one pulse: record it, go on
                record = {"status": "failed", "reason": str(err), "converged": False,
                          "pulse_amplitude": point.drive, "dofs": study.problem.dofs}
            finally:
                study.close()
            emit(point_row(point, {k: v for k, v in record.items() if k not in ("end_state", "series")}))


def point_row(point: SweepPoint, record: dict) -> dict:
    row = flatten_record(record, point.parameter_dict)
    row["point_id"] = point.point_id
    row["point_index"] = point.index
    row["drive"] = point.drive
    return row


def run_points(config: Config, todo: list[SweepPoint], ranks_per_point: int,
               store_row: Optional[Callable[[dict], None]], on_row: Callable[[dict], None],
               stop: StopRequest, watchdog_minimum: float = 300.0,
               warm_up: Callable[[], None] = lambda: None) -> Optional[Exception]:
    """Solve `todo` on all of COMM_WORLD; rows reach `store_row` on world rank 0. When storing
    a row fails (a full disk), rank 0 hands out no more work and the error is returned; so it
    is when a stop was requested (None then). Every rank returns the same answer.

    `warm_up` runs on world rank 0 before any point is solved (the forms' JIT compile, which must
    not race on a shared cache); meanwhile the other groups build their meshes, which takes the
    serial part of a sweep's start-up off the critical path."""
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    if world.size % ranks_per_point:
        raise InputError(f"--ranks-per-point {ranks_per_point}: does not divide the {world.size} ranks")
    group = world.Split(world.rank // ranks_per_point, world.rank)
    solver = GroupSolver(config, group)
    if world.rank == 0:
        warm_up()
    elif world.rank >= ranks_per_point and todo:
        solver.prepare_mesh(todo[0].parameter_dict)
    world.Barrier()
    n_groups = world.size // ranks_per_point
    leader = group.rank == 0
    failure: list[Exception] = []
    wants_stop = lambda: stop.requested or bool(failure)  # noqa: E731
    if world.rank == 0:
        def store(row: dict) -> None:
            if failure:
                return  # nowhere to put it: the store failed before
            try:
                store_row(row)
            except FilathermError as err:
                failure.append(err)
                return
            on_row(row)

        _serve_and_work(world, group, solver, deque(chunks(todo, n_groups)), n_groups, store, wants_stop,
                        Watchdog(watchdog_minimum))
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
    return world.bcast(failure[0] if failure else None, root=0)


def _serve_and_work(world, group, solver: GroupSolver, queue: deque, n_groups: int,
                    store: Callable[[dict], None], wants_stop: Callable[[], bool], watchdog: Watchdog) -> None:
    mailbox = Mailbox(world, watchdog, "sweep: ")
    waiting_leaders = n_groups - 1  # leaders that have not been told "no more work"

    def handle(block: bool) -> None:
        nonlocal waiting_leaders
        while (received := mailbox.receive(block)) is not None:
            source, tag, message = received
            watchdog.heard(source, busy=True)
            if tag == RESULT:
                watchdog.point_took(message.get("wall_time_s", 0.0))
                store(message)
            elif tag == REQUEST:
                chunk = queue.popleft() if queue and not wants_stop() else None
                mailbox.send(chunk, dest=source, tag=WORK)
                watchdog.heard(source, busy=chunk is not None)
                waiting_leaders -= chunk is None
            block = False

    def own_row(row: dict) -> None:
        watchdog.point_took(row.get("wall_time_s", 0.0))
        store(row)
        handle(block=False)  # between own points, keep the others fed
        mailbox.check()

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
