"""Continuation in the drive (terminal voltage, or current) with step cutting.

A solve at a new drive starts from a predictor built from the converged states behind it
(secant extrapolation of every unknown), and a failed Newton solve halves the step, down to
`min_step`, before giving up. When it gives up, the history tells why: a temperature whose
slope in the drive blows up as the step shrinks is thermal runaway (the steady state ceases to
exist), reported as `runaway` with the last converged drive; otherwise `diverged` (non-finite
or unphysical iterates) or `no_convergence`.

Two bounds keep any drive finite in time: a converged T_max above the ceiling
(solver.continuation.max_temperature, far above any melting point) ends the continuation as
`unphysical`, and a budget of Newton solves per point (max_solves) as `no_convergence`.
Steps are in the drive's unit: volts at a voltage terminal, amperes at a current terminal,
where the default steps scale with the largest current asked for (see `step_limits`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from solver.config.schema import VOLTAGE_STEPS
from solver.fem.problem import ElectroThermalProblem, State, extrapolate

RUNAWAY_SLOPE_RATIO = 4.0  # local dT/dV over the branch's mean slope that marks a fold
QUADRATIC_SPACING_RATIO = 4.0  # the predictor's quadratic needs spacings within this factor
# Default steps at a current terminal, as fractions of the largest |current| of the solve or
# branch: the same fractions of the drive as 0.25 V and 1e-4 V are of a 1 V write.
CURRENT_STEP_FRACTIONS = (0.25, 1e-4)


def step_limits(settings, current_mode: bool, largest_drive: float) -> tuple[float, float]:
    """(max_step, min_step) in the drive's unit: the config's (solver.continuation), else the
    defaults: 0.25 V and 1e-4 V at a voltage terminal; a quarter and 1e-4 of the largest
    |current| at a current terminal (a step of 0.25 A would jump far past any cell's current)."""
    if current_mode:
        scale = abs(largest_drive) if largest_drive else 1.0
        defaults = (CURRENT_STEP_FRACTIONS[0] * scale, CURRENT_STEP_FRACTIONS[1] * scale)
    else:
        defaults = VOLTAGE_STEPS
    largest = settings.max_step if settings.max_step is not None else defaults[0]
    smallest = settings.min_step if settings.min_step is not None else defaults[1]
    return largest, min(smallest, largest)


@dataclass
class Converged:
    drive: float
    state: Optional[State]  # kept for the last three entries only (the predictor's)
    T_max: float
    iterations: int


@dataclass
class StepResult:
    status: str  # ok | runaway | unphysical | diverged | no_convergence
    drive: float
    iterations: int  # Newton iterations of the final solve at the target (or the last attempt)
    total_iterations: int
    solves: int
    last_converged: float
    reason: str = ""

    @property
    def converged(self) -> bool:
        return self.status == "ok"


@dataclass
class Continuation:
    problem: ElectroThermalProblem
    max_step: float
    min_step: float
    max_solves: int = 1000
    max_temperature: float = math.inf
    history: list[Converged] = field(default_factory=list)

    def reset(self) -> None:
        """Forget the branch: the next `advance` starts from rest."""
        self.history = []

    def start(self) -> StepResult:
        """Solve at zero drive from the initial state (no current: heat conduction only)."""
        self.problem.reset()
        self.history = []
        result = self.problem.solve(0.0)
        if not result.converged:
            return StepResult("no_convergence", 0.0, result.iterations, result.iterations, 1,
                              math.nan, f"zero-drive solve failed: {result.reason}")
        self._accept(0.0, result.iterations)
        return StepResult("ok", 0.0, result.iterations, result.iterations, 1, 0.0)

    def _accept(self, drive: float, iterations: int) -> None:
        self.history.append(Converged(drive, self.problem.state(), self.problem.T_max(), iterations))
        if len(self.history) > 3:
            self.history[-4].state = None

    def restart_from(self, converged: list[Converged]) -> None:
        """Continue a branch from states solved earlier (e.g. a sweep's previous points)."""
        self.history = list(converged)
        self.problem.restore(self.history[-1].state)

    def advance(self, target: float) -> StepResult:
        """Continue from the last converged state to the drive `target`."""
        if not self.history:
            started = self.start()
            if not started.converged:
                return started
        total, solves, saw_nan = 0, 0, False
        last = self.history[-1]
        if target == last.drive:
            return StepResult("ok", target, 0, 0, 0, target)
        if len(self.history) == 1 and last.drive == 0.0:
            # From rest the potential has no shape yet: a tiny drive gives it (linear response),
            # and the secant predictor then scales it to the real step.
            tiny = math.copysign(1e-6 * min(self.max_step, abs(target)), target)
            bootstrap = self.problem.solve(tiny)
            total, solves = total + bootstrap.iterations, solves + 1
            if not bootstrap.converged:
                self.problem.restore(last.state)
                return StepResult("no_convergence", target, bootstrap.iterations, total, solves, 0.0,
                                  f"linear-response solve failed: {bootstrap.reason}")
            self._accept(tiny, bootstrap.iterations)
        step = min(self.max_step, abs(target - self.history[-1].drive))
        while True:
            start = self.history[-1].drive
            direction = math.copysign(1.0, target - start)
            trial = target if abs(target - start) <= step * (1 + 1e-12) else start + direction * step
            self._predict(trial)
            result = self.problem.solve(trial)
            total, solves = total + result.iterations, solves + 1
            if result.converged:
                self._accept(trial, result.iterations)
                if self.history[-1].T_max > self.max_temperature:
                    return self._unphysical(target, result.iterations, total, solves)
                if trial == target:
                    return StepResult("ok", target, result.iterations, total, solves, target)
                if result.iterations <= 4:
                    step = min(2 * step, self.max_step)
                if solves >= self.max_solves:
                    return self._over_budget(target, result.iterations, total, solves)
                continue
            saw_nan = saw_nan or result.nonfinite
            self.problem.restore(self.history[-1].state)
            if solves >= self.max_solves:
                return self._over_budget(target, result.iterations, total, solves)
            step /= 2
            if step < self.min_step:
                status = self._classify(saw_nan)
                last_drive = self.history[-1].drive
                reason = {
                    "runaway": f"thermal runaway: no steady state beyond {last_drive:.6g} "
                               f"(T_max {self.history[-1].T_max:.4g} K and rising steeply)",
                    "diverged": f"Newton iterates became non-finite or unphysical beyond {last_drive:.6g}",
                    "no_convergence": f"Newton failed beyond {last_drive:.6g} ({result.reason})",
                }[status]
                return StepResult(status, target, result.iterations, total, solves, last_drive, reason)

    def _unphysical(self, target: float, iterations: int, total: int, solves: int) -> StepResult:
        """T_max rose above the ceiling: no physical steady state (the cell would have molten)."""
        above = self.history.pop()
        last = self.history[-1]
        self.problem.restore(last.state)
        reason = (f"T_max {above.T_max:.4g} K at {above.drive:.6g} is above the ceiling of "
                  f"{self.max_temperature:g} K (solver.continuation.max_temperature): no physical steady state")
        return StepResult("unphysical", target, iterations, total, solves, last.drive, reason)

    def _over_budget(self, target: float, iterations: int, total: int, solves: int) -> StepResult:
        last = self.history[-1]
        self.problem.restore(last.state)
        reason = (f"gave up after {solves} Newton solves between {last.drive:.6g} and {target:.6g} "
                  "(solver.continuation.max_solves)")
        return StepResult("no_convergence", target, iterations, total, solves, last.drive, reason)

    def _predict(self, drive: float) -> None:
        """Extrapolate the converged states behind `drive` to it: a quadratic through the last
        three when their spacings are alike (on the static cell's 41-point sweep 209 chord
        iterations instead of the secant's 243), else a secant through the last two."""
        last = self.history[-1]
        if len(self.history) < 2:
            self.problem.restore(last.state)
            return
        nodes = self.history[-3:] if self._evenly_spaced(self.history[-3:]) else self.history[-2:]
        self.problem.restore(extrapolate([n.state for n in nodes], [n.drive for n in nodes], drive))
        # an extrapolated temperature must stay physical (the laws divide by T)
        self.problem.clamp_temperature(0.5 * self.problem.T_min_of(last.state))

    @staticmethod
    def _evenly_spaced(nodes: list[Converged]) -> bool:
        """Three states whose two spacings differ by at most QUADRATIC_SPACING_RATIO: a
        quadratic through nodes much closer together than the step ahead (the linear-response
        point beside rest) would amplify their solver tolerance into the prediction."""
        if len(nodes) < 3 or any(n.state is None for n in nodes):
            return False
        first, second = abs(nodes[1].drive - nodes[0].drive), abs(nodes[2].drive - nodes[1].drive)
        return min(first, second) * QUADRATIC_SPACING_RATIO >= max(first, second)

    def _classify(self, saw_nan: bool) -> str:
        """Runaway when T_max rises much faster at the end of the branch than on average."""
        h = self.history
        if len(h) >= 3:
            first, prev, last = h[0], h[-2], h[-1]
            rise = last.T_max - first.T_max
            mean_slope = rise / abs(last.drive - first.drive) if last.drive != first.drive else 0.0
            local_slope = (last.T_max - prev.T_max) / abs(last.drive - prev.drive)
            if rise > 0 and local_slope > RUNAWAY_SLOPE_RATIO * mean_slope:
                return "runaway"
        return "diverged" if saw_nan else "no_convergence"
