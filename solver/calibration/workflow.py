"""`calibrate`: fit a config's `calibration.parameters` to a measurement file, on COMM_WORLD.

    outcome = calibrate(config, "data/device.yaml", Path("results/cell/calibration"))

Every rank calls it: rank 0 runs the fit (solver.calibration.fit) and writes the outputs
(solver.calibration.report), the other ranks solve branches from the pool's queue. The solved
points go to OUT/.journal.jsonl as they arrive; `resume` continues from it (a killed run loses
only the branches in flight), `force` starts over. The outcome (calibration.json's data and the
files) is the same on every rank.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from solver.calibration.evaluate import Evaluator
from solver.calibration.fit import FiniteDifferences, weighted_fit
from solver.calibration.journal import Journal
from solver.calibration.measurements import load_measurements
from solver.calibration.parameters import ParameterSpace
from solver.calibration.pool import TaskPool, run_with_pool
from solver.calibration.predict import build_observables
from solver.calibration.report import Context, shown_unit, write_report
from solver.config import Config


@dataclass
class CalibrationOutcome:
    data: dict          # calibration.json
    files: list[Path]


def calibrate(config: Config, measurements_path: str | Path, out: Path, resume: bool = False,
              force: bool = False, comm=None, say: Callable[[str], None] = lambda text: None,
              watchdog: float = 300.0) -> CalibrationOutcome:
    """Collective over `comm` (default COMM_WORLD); see the module docstring. `watchdog` [s]: the
    least silence of a rank that counts as frozen (solver.calibration.pool)."""
    import solver.fem.compat  # noqa: F401 (PETSc initialises collectively: on every rank, first)
    from solver.sweep.driver import job_communicator
    from solver.sweep.runner import StopRequest
    from solver.versions import versions

    comm = job_communicator(comm)  # N one-rank jobs from a misconfigured launcher: refused
    started = time.perf_counter()
    out = Path(out)
    measurements = load_measurements(measurements_path)
    space = ParameterSpace(config)
    observables = build_observables(measurements, config)

    def run(journal: Journal, pool: TaskPool) -> tuple[dict, list[Path]]:
        if journal.torn_lines:
            say(f"calibration: dropped {journal.torn_lines} torn line(s) of an interrupted run")
        with StopRequest() as stop:
            measured = np.concatenate([o.measured for o in observables])
            sigma = np.concatenate([o.sigma for o in observables])
            evaluator = Evaluator(config, space.fem_assignments, space.config_at, observables, journal, pool,
                                  lambda: stop.requested)
            say(f"calibration of {config.name}: {len(space)} parameters, {len(measured)} measured values from "
                f"{measurements.path}; {len(evaluator.tasks(space.initial_variables()))} branch(es) per parameter "
                f"set on {comm.size} rank(s)")
            lower, upper = space.variable_bounds()
            problem = FiniteDifferences(lambda xs: [(p - measured) / sigma for p in evaluator.predict(xs)],
                                        lower, upper, space.steps(), space.labels, evaluator.failure)
            x0 = np.clip(space.initial_variables(), lower, upper)
            initial = evaluator.predict([x0])[0]
            settings = config.calibration
            fit = weighted_fit(problem, x0, space.widths(), settings.tolerance, settings.max_evaluations,
                               settings.identifiability, say)
            predicted = evaluator.refresh(fit.x)
            context = Context(config, space.config_at(fit.x), space, observables, measured, sigma, predicted, initial,
                              str(measurements.path), measurements.sha256, versions(), comm.size,
                              evaluator.evaluations, evaluator.points_solved, evaluator.solve_time,
                              time.perf_counter() - started)
            data = write_report(out, context, fit)
            files = [out / name for name in ("calibration.json", "calibrated.yaml", "residuals.png", "summary.md")]
            for entry in data["parameters"]:
                unit = shown_unit(entry["unit"])
                error_text = "" if entry["std_error"] is None else f" +- {entry['std_error']:.3g}{unit}"
                say(f"  {entry['label']} = {entry['value']:.6g}{unit}{error_text} ({entry['status']})")
            say(f"  chi2 = {fit.analysis.chi2:.4g} for {fit.analysis.dof} degrees of freedom; "
                f"{evaluator.points_solved} FEM points solved")
            for warning in data["warnings"]:
                say(f"  warning: {warning}")
            say(f"calibration written to {out}")
        return data, files

    return CalibrationOutcome(*run_with_pool(config, comm, out, resume, force, watchdog, run))
