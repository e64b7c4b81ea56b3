"""Least-squares fits of the compact model to a rate table.

Lumped thermal law, per polarity branch b with a shared ambient T0:

    T_probe = T0 + R_th,b * P + beta_b * I

Linear in (T0, R_th,±, beta_±), so one linear least-squares solve; beta I is odd in the
current and carries the Peltier part that makes one polarity hotter than the other. Errors
are 1-sigma standard errors from the residual variance and (X^T X)^-1.

Current and field laws (:class:`solver.compact.document.ActivatedLaw`), with x = 1/T - 1/T0
from the FEM probe temperature and the fitted T0:

    ln |I / V| = ln G0 - (Ea_sigma q / k_B) x,    ln(|E| / |V|) = ln E1 - (Ea_E q / k_B) x

also linear least squares, in log space (relative errors: the data span decades). With the
thermal law they make the self-consistent electro-thermal model of solver.compact.laws:
physical beyond the table, monotone at fixed T, and able to run away thermally as the FEM
device does.
"""

from __future__ import annotations

import numpy as np

from solver.compact.document import ActivatedLaw, Branches, Estimate, ThermalBranch
from solver.compact.laws import activated, activation_temperature
from solver.compact.table import RateTable


def fit_thermal(table: RateTable) -> tuple[Estimate, Branches]:
    """T0 and per-branch (R_th, beta) from the FEM power, current and probe temperature."""
    positive, negative = table.branch("positive"), table.branch("negative")
    design = np.column_stack([
        np.ones_like(table.voltage),
        table.power * positive, table.current * positive,
        table.power * negative, table.current * negative,
    ])
    values, errors = _least_squares(design, table.T_probe)
    branches = Branches(
        positive=ThermalBranch(R_th=_estimate(values[1], errors[1]), beta=_estimate(values[2], errors[2]),
                               points=int(positive.sum())),
        negative=ThermalBranch(R_th=_estimate(values[3], errors[3]), beta=_estimate(values[4], errors[4]),
                               points=int(negative.sum())),
    )
    return _estimate(values[0], errors[0]), branches


def fit_activated(table: RateTable, T0: float, values: np.ndarray, odd: bool) -> ActivatedLaw:
    """Fit scale and activation energy of y = s(V) scale |V| exp(-a (1/T - 1/T0))."""
    oriented = values * np.sign(table.voltage) if odd else values
    used = (table.voltage != 0) & (oriented > 0)
    x = 1.0 / table.T_probe[used] - 1.0 / T0
    design = np.column_stack([np.ones_like(x), -x])
    target = np.log(oriented[used] / np.abs(table.voltage[used]))
    (log_scale, a), (log_scale_error, a_error) = _least_squares(design, target)
    per_ev = activation_temperature(1.0)
    scale = float(np.exp(log_scale))
    predicted = activated(scale, a / per_ev, T0, table.voltage[used], table.T_probe[used])
    return ActivatedLaw(
        scale=_estimate(scale, scale * log_scale_error),
        activation_energy=_estimate(a / per_ev, a_error / per_ev),
        max_relative_error=float(np.max(np.abs(predicted / oriented[used] - 1.0))),
    )


def _column_scales(design: np.ndarray) -> np.ndarray:
    """Largest |entry| of each column (1 for an all-zero column): conditions the solve."""
    scales = np.max(np.abs(design), axis=0)
    return np.where(scales > 0, scales, 1.0)


def _least_squares(design: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and their standard errors for an unconstrained linear fit."""
    scales = _column_scales(design)
    scaled = design / scales
    coefficients, *_ = np.linalg.lstsq(scaled, target, rcond=None)
    residual = target - scaled @ coefficients
    dof = max(len(target) - design.shape[1], 1)
    variance = float(residual @ residual) / dof
    covariance = variance * np.linalg.pinv(scaled.T @ scaled)
    errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    return coefficients / scales, errors / scales


def _estimate(value: float, error: float) -> Estimate:
    return Estimate(value=float(value), error=float(error))
