"""Rank 0's messages with the worker ranks of a work queue, watched for a frozen rank.

The sweep (solver.sweep.runner) and the calibration's task pool (solver.calibration.pool) both
run a queue on world rank 0: workers send a request, receive work, send results. A worker that
is stopped (SIGSTOP, a debugger) or hung never answers, and rank 0 must not wait for it for
ever. So every wait of rank 0 here is a poll that checks a :class:`Watchdog` in between: the
wait for the next message *and* the wait for a send or a receive to complete. A blocking
`send` is not enough: a message above MPI's eager limit completes only once the receiver has
posted its receive, and a worker stopped between its request and that receive never does
(seen: rank 0 waited in `send` for ever in 3 of 9 frozen-rank calibrations at load 2 on 2 cores).
"""

from __future__ import annotations

import time
from typing import Any, Optional

from solver.errors import FilathermError


class Watchdog:
    """Rank 0's view of the workers: one that has sent nothing for much longer than the slowest
    point so far (and at least `minimum` seconds) while it owes an answer is frozen (a stopped or
    hung process never answers); the job then ends, naming it."""

    FACTOR = 20.0

    def __init__(self, minimum: float):
        self.minimum = minimum
        self.slowest = 0.0
        self.busy_since: dict[int, float] = {}

    def heard(self, rank: int, busy: bool) -> None:
        if busy:
            self.busy_since[rank] = time.monotonic()
        else:
            self.busy_since.pop(rank, None)

    def point_took(self, seconds: float) -> None:
        if seconds == seconds:  # not NaN
            self.slowest = max(self.slowest, seconds)

    def limit(self) -> float:
        return max(self.minimum, self.FACTOR * self.slowest)

    def frozen(self) -> Optional[tuple[int, float]]:
        now = time.monotonic()
        for rank, since in self.busy_since.items():
            if now - since > self.limit():
                return rank, now - since
        return None


class StalledRank(FilathermError):
    """A worker sent nothing for far longer than any point takes; the job must end without
    waiting for it (`alone`: only rank 0 knows)."""

    alone = True


class Mailbox:
    """Rank 0's side of the queue on `comm`: receive the next message, send work, each wait
    checking `watchdog` (see the module docstring). `job` names the job in the error."""

    POLL = 0.002  # [s] between two checks of a wait; a point takes 0.1 s or more

    def __init__(self, comm, watchdog: Watchdog, job: str):
        self.comm = comm
        self.watchdog = watchdog
        self.job = job

    def receive(self, block: bool) -> Optional[tuple[int, int, Any]]:
        """(source, tag, message) of the next message, or None when `block` is false and none
        has arrived."""
        from mpi4py import MPI

        status = MPI.Status()
        while True:
            matched = self.comm.improbe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)
            if matched is not None:
                break
            if not block:
                return None
            self.check()
            time.sleep(self.POLL)
        source, tag = status.Get_source(), status.Get_tag()
        return source, tag, self._complete(matched.irecv())

    def send(self, message: Any, dest: int, tag: int) -> None:
        self._complete(self.comm.isend(message, dest=dest, tag=tag))

    def _complete(self, request) -> Any:
        while True:
            done, value = request.test()
            if done:
                return value
            self.check()
            time.sleep(self.POLL)

    def check(self) -> None:
        """Raise StalledRank when a worker that owes an answer has been silent too long."""
        frozen = self.watchdog.frozen()
        if frozen is None:
            return
        rank, silent = frozen
        watchdog = self.watchdog
        raise StalledRank(f"{self.job}rank {rank} has sent nothing for {silent:.0f} s (the slowest point so far took "
                          f"{watchdog.slowest:.1f} s; the limit is {watchdog.limit():.0f} s): it is stopped or hung; "
                          "ending the job; the solved points are kept (resume with --resume)")
