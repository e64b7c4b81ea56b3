"""The thermal node's time scale from a transient FEM step response.

A voltage step heats the probe from the ambient T0 towards its steady value. The compact
model's thermal node relaxes with one time constant, dT/dt = (T_ss(t) - T)/tau; driven by the
FEM's own power P(t), with T_ss(t) = T0 + (T_end - T0) P(t)/P_end (the steady law at the step's
power), least squares over the step's samples give tau, and C_th = tau / R_th with
R_th = (T_end - T0) / P_end. The step's edge (STEP_EDGE) drives the node through P(t) too, so
it is no error. The largest deviation of the node from the FEM, relative to the rise, says how well one
time constant describes the cell (the FEM's rise has a fast part, the filament, and slower
ones, the electrodes).

    step/series.csv (PulseStudy of a step, written by the pipeline's `step` stage)
        -> ThermalDynamics(time_constant, capacitance, step_voltage, max_relative_error)
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from scipy.optimize import least_squares

from solver.compact.document import ThermalDynamics
from solver.errors import InputError
from solver.quantities import split_header

STEP_WIDTH = 20e-9  # s: long against the cell's thermal time, short against the pulse stages'
STEP_EDGE = 1e-11  # s: a step on the thermal time scale (a sharper one is hard for Newton from rest)


def read_series(path: Path) -> dict[str, np.ndarray]:
    """series.csv as column name (without unit) -> values."""
    try:
        lines = Path(path).read_text().splitlines()
        names = [split_header(cell)[0] for cell in lines[0].split(",")]
        values = np.array([[float(x) for x in line.split(",")] for line in lines[1:]])
    except (OSError, ValueError, IndexError) as err:
        raise InputError(f"{path}: not a series.csv ({err})") from None
    return {name: values[:, i] for i, name in enumerate(names)}


def relax(time: np.ndarray, target: np.ndarray, T0: float, tau: float) -> np.ndarray:
    """T(t) of dT/dt = (target(t) - T) / tau from T0, target piecewise linear between the
    samples: integrated exactly interval by interval."""
    T = np.empty_like(target)
    T[0] = T0
    for k in range(len(time) - 1):
        h = time[k + 1] - time[k]
        slope = (target[k + 1] - target[k]) / h if h > 0 else 0.0
        decay = np.exp(-h / tau)
        T[k + 1] = target[k + 1] - slope * tau + (T[k] - target[k] + slope * tau) * decay
    return T


def fit_time_constant(time: np.ndarray, T: np.ndarray, power: np.ndarray, T0: float) -> tuple[float, float]:
    """(tau [s], max |lumped - T| / rise) of a step response: the lumped node driven by the
    FEM's own power, relaxing towards T0 + (T_end - T0) P(t) / P_end (so a fast edge of the
    step is no error), with tau fitted by least squares."""
    rise = T[-1] - T0
    if rise <= 0 or power[-1] <= 0:
        raise InputError("step response: the probe does not heat")
    target = T0 + rise * power / power[-1]
    reached = time[np.argmax(T - T0 >= (1 - np.exp(-1)) * rise)]

    def residual(theta):
        return (relax(time, target, T0, float(np.exp(theta[0]))) - T) / rise

    fit = least_squares(residual, [np.log(max(reached, 1e-15))], method="lm", xtol=1e-14, ftol=1e-14)
    return float(np.exp(fit.x[0])), float(np.max(np.abs(residual(fit.x))))


def thermal_dynamics(step_dir: Path, probe: str, T0: float) -> Optional[ThermalDynamics]:
    """The thermal node of a step response in STEP_DIR (series.csv, qoi.json), or None if
    there is none."""
    series_path = Path(step_dir) / "series.csv"
    if not series_path.exists():
        return None
    series = read_series(series_path)
    key = f"{probe}.T_mean"
    if key not in series:
        raise InputError(f"{series_path}: no column {key} (the kinetics probe)")
    time, T, V = series["time"], series[key], series["voltage_device"]
    on = np.flatnonzero(V != 0)
    if len(on) < 3:
        raise InputError(f"{series_path}: the step has fewer than 3 time steps")
    # the step starts at t = 0 (the sample before it is the ambient) and holds to the last `on`
    held = slice(0, on[-1] + 1)
    power = V[held] * series["current"][held]
    tau, error = fit_time_constant(time[held], T[held], power, T0)
    capacitance = tau * power[-1] / (T[held][-1] - T0)
    return ThermalDynamics(time_constant=tau, capacitance=capacitance, step_voltage=float(V[on[-1]]),
                           max_relative_error=error)
