"""Parameter vectors -> predicted measurements, through the journal first and the pool second.

For each vector x the observables say which (state, applied voltage) points they need; the
points are grouped into branch tasks (one per state and polarity, solver.calibration.pool), the
tasks the journal does not hold complete go to the pool in one batch (all vectors of a call
together: a Jacobian's perturbations are solved in parallel), and each vector's records are
handed to the observables with the config at x (whose kinetics may be fitted too).

Rank 0 only: the other ranks serve the pool.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Optional, Sequence

import numpy as np

from solver.calibration.journal import Journal
from solver.calibration.parameters import STATE_PATH
from solver.calibration.pool import Task, TaskPool, task_key
from solver.calibration.predict import Observable, SolveKey, Solved
from solver.config import Config, solve_hash, with_overrides
from solver.errors import ConfigError, InputError, Interrupted


def branch_tasks(variant_hash: Callable[[tuple], str], assignments: tuple[tuple[str, float], ...],
                 needs: Sequence[SolveKey]) -> list[Task]:
    """Branch tasks covering `needs`: one per (state, polarity), drives by increasing |drive|;
    `variant_hash(assignments)` is the solve hash of the config they make."""
    groups: dict[tuple, set] = {}
    for state, drive in needs:
        groups.setdefault((state, drive > 0), set()).add(float(drive))
    tasks = []
    for (state, _), drives in sorted(groups.items(), key=lambda item: (item[0][0] or 0.0, item[0][1])):
        ordered = tuple(sorted(drives, key=abs))
        full = assignments + (((STATE_PATH, float(state)),) if state is not None else ())
        tasks.append(Task(task_key(variant_hash(full), ordered), full, ordered))
    return tasks


class Evaluator:
    """Predictions of the observables at parameter vectors (cached in memory and in the journal)."""

    def __init__(self, base: Config, fem_assignments: Callable[[np.ndarray], tuple],
                 config_at: Callable[[np.ndarray], Config], observables: list[Observable],
                 journal: Journal, pool: TaskPool, stop: Callable[[], bool] = lambda: False):
        self.base = base
        self._hashes: dict[tuple, str] = {}
        self.fem_assignments = fem_assignments
        self.config_at = config_at
        self.observables = observables
        self.journal = journal
        self.pool = pool
        self.stop = stop
        self.needs = [key for obs in observables for key in obs.needs()]
        self.failures: dict[bytes, str] = {}
        self._cache: dict[bytes, np.ndarray] = {}
        self.evaluations = 0     # parameter vectors predicted
        self.points_solved = 0   # FEM points solved (journal misses)
        self.solve_time = 0.0    # wall time in the pool [s]

    def variant_hash(self, assignments: tuple) -> str:
        """The solve hash of the base config with `assignments` (for assignments that make no
        valid config, a key of their own: those tasks fail)."""
        if assignments not in self._hashes:
            try:
                self._hashes[assignments] = solve_hash(with_overrides(self.base, dict(assignments)))
            except ConfigError:
                self._hashes[assignments] = "invalid:" + repr(assignments)
        return self._hashes[assignments]

    def tasks(self, x: np.ndarray) -> list[Task]:
        return branch_tasks(self.variant_hash, self.fem_assignments(x), self.needs)

    def predict(self, xs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Predicted values (observables concatenated) at each x; NaN where a solve failed."""
        xs = [np.asarray(x, dtype=float) for x in xs]
        todo: dict[str, Task] = {}
        for x in xs:
            if x.tobytes() in self._cache:
                continue
            for task in self.tasks(x):
                if self.journal.complete(task.key, task.drives):
                    continue
                todo.setdefault(task.key, task)
        if todo:
            for key in todo:
                self.journal.forget(key)
            started = time.perf_counter()
            before = self.pool.points
            stopped = self.pool.run(list(todo.values()), self.journal.append, self.stop)
            self.points_solved += self.pool.points - before
            self.solve_time += time.perf_counter() - started
            if stopped:
                raise Interrupted(f"interrupted: {self.journal.appended} solved points are kept in "
                                  f"{self.journal.path}; rerun with --resume to continue")
        out = []
        for x in xs:
            key = x.tobytes()
            if key not in self._cache:
                self._cache[key] = self._predict_one(x)
                self.evaluations += 1
            out.append(self._cache[key])
        return out

    def refresh(self, x: np.ndarray) -> np.ndarray:
        """Predict x again from its stored records (no solve), so that the observables' notes
        (e.g. an extrapolated switching amplitude) describe x."""
        x = np.asarray(x, dtype=float)
        self.predict([x])
        return self._predict_one(x)

    def solved(self, x: np.ndarray) -> Solved:
        """The records of x by (state, drive) (all of them in the journal)."""
        records = {}
        for task in self.tasks(x):
            state = dict(task.assignments).get(STATE_PATH)
            for drive in task.drives:
                record = self.journal.record(task.key, drive)
                if record is not None:
                    records[(state, drive)] = record
        return Solved(records)

    def _predict_one(self, x: np.ndarray) -> np.ndarray:
        solved = self.solved(x)
        try:
            config = self.config_at(x)
        except InputError as err:
            self.failures[x.tobytes()] = str(err)
            return np.full(sum(len(o.measured) for o in self.observables), math.nan)
        predictions = [np.asarray(o.predict(solved, config), dtype=float) for o in self.observables]
        failed = [o for o, values in zip(self.observables, predictions) if not np.all(np.isfinite(values))]
        if failed:
            reason = solved.reason([k for o in failed for k in o.needs()]) or "a prediction is not finite"
            self.failures[x.tobytes()] = f"{failed[0].kind}[{failed[0].index}]: {reason}"
        return np.concatenate(predictions)

    def failure(self, x: np.ndarray) -> Optional[str]:
        return self.failures.get(np.asarray(x, dtype=float).tobytes())
