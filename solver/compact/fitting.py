"""Least-squares fits of the compact model (solver.compact.laws) to a rate table.

Thermal law, per polarity branch b with a shared ambient T0:

    T_probe = T0 + R_th,b(P) P + beta_b I,    R_th,b(P) = R_th,b + dR_th,b (1 - exp(-P / P_R,b))

T0 is the ambient of the config's thermal boundaries (their common temperature: the probe
temperature at zero bias), pinned; only when the boundaries sit at different temperatures is
it fitted. For a fixed power scale P_R the law is linear in (R_th, dR_th, beta), so each branch
is a linear least-squares solve inside a one-dimensional search over ln P_R (a grid over
[1e-3, 1e2] x the branch's largest power, then a bounded refinement around the best grid
point: the profile has local minima). With dR_th = 0 it is the constant-R_th law, which a
table made from a constant R_th gives back exactly.

Current law, I = G0 exp((a/T0) (1 - (T0/T)^kappa)) (V + S (T - T0)) at the FEM probe
temperature: nonlinear least squares in the relative current error (the data span decades),
started from the Arrhenius fit ln|I/V| = ln G0 - a (1/T - 1/T0) (kappa = 1, S = 0). Where a
field-enhanced conduction makes that law miss, the field-activated law (per polarity) is fitted
too and kept if it halves the largest error (solver.compact.laws).
Field law, ln(|E|/|V|) = ln E1 - a_E (1/T - 1/T0): linear least squares in log space.

Errors are 1-sigma standard errors from the residual variance and (J^T J)^-1 with J the
Jacobian of the residuals at the optimum (the design matrix for a linear fit).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares, minimize_scalar

from solver.compact.document import (
    ActivatedLaw,
    Branches,
    CurrentLaw,
    Estimate,
    FieldActivatedCurrentLaw,
    FieldCurrentBranch,
    ThermalBranch,
)
from solver.compact.laws import ActivatedConduction, FieldActivatedConduction, activated, activation_temperature
from solver.compact.table import RateTable

POWER_SCALE_RANGE = (1e-3, 1e2)  # P_R searched within this x the branch's largest power
POWER_SCALE_GRID = 241
T0_SEARCH = (0.5, 2.0)  # a fitted T0 is searched within this x the config's reference


def fit_thermal(table: RateTable, ambient: float, pinned: bool = True) -> tuple[Estimate, Branches]:
    """T0 and per-branch (R_th, dR_th, P_R, beta) from the FEM power, current and probe
    temperature; T0 = `ambient` if `pinned`, else fitted (searched around `ambient`). A
    polarity the table has no points of gets no branch (None): a one-polarity sweep fits the
    branch it has."""
    names = [name for name in ("positive", "negative") if table.branch(name).any()]
    masks = [table.branch(name) for name in names]
    if pinned:
        T0 = float(ambient)
    else:
        search = minimize_scalar(lambda t: sum(_branch_fit(table, m, t)[1] for m in masks),
                                 bounds=(T0_SEARCH[0] * ambient, T0_SEARCH[1] * ambient),
                                 method="bounded", options={"xatol": 1e-9 * ambient})
        T0 = float(search.x)
    fits = [_branch_fit(table, m, T0)[0] for m in masks]
    # Errors from the joint Jacobian: the branches share T0 when it is fitted.
    columns, residuals = [], []
    for mask, (R_th, dR_th, P_R, beta) in zip(masks, fits):
        P, I, T = table.power[mask], table.current[mask], table.T_probe[mask]
        decay = np.exp(-P / P_R)
        block = np.column_stack([P, P * (1.0 - decay), -dR_th * P * decay * P / P_R**2, I])
        columns.append((mask, block))
        residuals.append(T0 + (R_th + dR_th * (1.0 - decay)) * P + beta * I - T)
    n = len(table.voltage)
    width = 4 * len(masks)
    jacobian = np.zeros((n, width + (0 if pinned else 1)))
    for k, (mask, block) in enumerate(columns):
        jacobian[mask, 4 * k:4 * k + 4] = block
    if not pinned:
        jacobian[:, width] = 1.0
    used = np.zeros(n, dtype=bool)
    for mask in masks:
        used |= mask
    residual = np.concatenate(residuals)
    errors = _standard_errors(jacobian[used], residual)
    branches = {}
    for k, (name, mask) in enumerate(zip(names, masks)):
        values = fits[k]
        e = errors[4 * k:4 * k + 4]
        branches[name] = ThermalBranch(
            R_th=_estimate(values[0], e[0]), delta_R_th=_estimate(values[1], e[1]),
            power_scale=_estimate(values[2], e[2]), beta=_estimate(values[3], e[3]),
            points=int(mask.sum()),
        )
    return _estimate(T0, 0.0 if pinned else errors[width]), Branches(**branches)


def _branch_fit(table: RateTable, mask: np.ndarray, T0: float) -> tuple[tuple[float, ...], float]:
    """((R_th, dR_th, P_R, beta), sum of squares) of one branch at a given T0."""
    P, I, T = table.power[mask], table.current[mask], table.T_probe[mask]
    target = T - T0
    P_max = float(np.max(np.abs(P))) or 1.0

    def solve(log_scale: float) -> tuple[np.ndarray, float]:
        design = np.column_stack([P, P * (1.0 - np.exp(-P / np.exp(log_scale))), I])
        scales = _column_scales(design)
        coefficients, *_ = np.linalg.lstsq(design / scales, target, rcond=None)
        residual = design / scales @ coefficients - target
        return coefficients / scales, float(residual @ residual)

    grid = np.log(P_max) + np.linspace(np.log(POWER_SCALE_RANGE[0]), np.log(POWER_SCALE_RANGE[1]),
                                       POWER_SCALE_GRID)
    profile = [solve(g)[1] for g in grid]
    k = int(np.argmin(profile))
    low, high = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    refined = minimize_scalar(lambda g: solve(g)[1], bounds=(low, high), method="bounded",
                              options={"xatol": 1e-10})
    best = refined.x if refined.fun < profile[k] else grid[k]
    (R_th, dR_th, beta), sse = solve(best)
    return (float(R_th), float(dR_th), float(np.exp(best)), float(beta)), sse


# The field-activated law replaces the activated one only where it is clearly better: an ohmic
# cell's data, which the activated law fits to rounding, keeps the simpler law.
FIELD_LAW_GAIN = 0.5


def fit_current(table: RateTable, T0: float) -> CurrentLaw | FieldActivatedCurrentLaw:
    """The current law that reproduces the table best: the activated law, or (per polarity) the
    field-activated one when it halves the largest relative error (solver.compact.laws)."""
    activated = fit_activated_current(table, T0)
    if activated.max_relative_error < 1e-6:
        return activated
    field = fit_field_activated_current(table, T0)
    if field is not None and field.max_relative_error < FIELD_LAW_GAIN * activated.max_relative_error:
        return field
    return activated


def fit_activated_current(table: RateTable, T0: float) -> CurrentLaw:
    """G0, activation energy, conduction exponent and Seebeck coefficient of the activated law."""
    used = (table.voltage != 0) & (table.current * table.voltage > 0)
    V, I, T = table.voltage[used], table.current[used], table.T_probe[used]
    # Start: Arrhenius in the probe temperature, no EMF.
    x = 1.0 / T - 1.0 / T0
    design = np.column_stack([np.ones_like(x), -x])
    (log_G0, a), _ = _least_squares(design, np.log(I / V))

    def law(theta: np.ndarray) -> np.ndarray:
        return ActivatedConduction(T0, float(np.exp(theta[0])), theta[1], theta[2], theta[3]).current(V, T)

    def residual(theta: np.ndarray) -> np.ndarray:
        return law(theta) / I - 1.0

    start = np.array([log_G0, a, 1.0, 0.0])
    with np.errstate(over="ignore", invalid="ignore"):
        result = least_squares(residual, start, x_scale=np.array([1.0, max(abs(a), 1.0), 1.0, 1e-4]),
                               method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000)
    theta = result.x if np.all(np.isfinite(result.fun)) else start
    errors = _standard_errors(_jacobian(residual, theta), residual(theta))
    per_ev = activation_temperature(1.0)
    G0 = float(np.exp(theta[0]))
    return CurrentLaw(
        scale=_estimate(G0, G0 * errors[0]),
        activation_energy=_estimate(theta[1] / per_ev, errors[1] / per_ev),
        conduction_exponent=_estimate(theta[2], errors[2]),
        seebeck=_estimate(theta[3], errors[3]),
        max_relative_error=float(np.max(np.abs(residual(theta)))),
    )


FIELD_STARTS = [(np.log(gamma), np.log(V1)) for gamma in (0.2, 0.6, 1.6) for V1 in (0.1, 1.0)]


def fit_field_activated_current(table: RateTable, T0: float) -> FieldActivatedCurrentLaw | None:
    """Per polarity G0, activation energy, exponent, field voltage and path heating of the
    field-activated law: nonlinear least squares in the relative current error from a few
    starts (the profile has local minima); None if a branch has too few points."""
    branches, worst = {}, 0.0
    for polarity in ("positive", "negative"):
        used = table.branch(polarity) & (table.current * table.voltage > 0)
        V, I, T = table.voltage[used], table.current[used], table.T_probe[used]
        if len(V) < 6:
            return None

        def residual(theta: np.ndarray, V=V, I=I, T=T) -> np.ndarray:
            law = FieldActivatedConduction(T0, np.exp(theta[0]), theta[1], theta[2], np.exp(theta[3]),
                                           np.exp(theta[4]))
            return law.current(V, T) / I - 1.0

        best = None
        with np.errstate(over="ignore", invalid="ignore"):
            for log_gamma, log_V1 in FIELD_STARTS:
                start = np.array([np.log(np.min(np.abs(I / V))), 0.0, 0.0, log_V1, log_gamma])
                result = least_squares(residual, start, method="lm", xtol=1e-14, ftol=1e-14, gtol=1e-14,
                                       max_nfev=20000)
                if np.all(np.isfinite(result.fun)) and (best is None or result.cost < best.cost):
                    best = result
        if best is None:
            return None
        theta = best.x
        errors = _standard_errors(_jacobian(residual, theta), residual(theta))
        per_ev = activation_temperature(1.0)
        G0, V1, gamma = (float(np.exp(theta[i])) for i in (0, 3, 4))
        branches[polarity] = FieldCurrentBranch(
            scale=_estimate(G0, G0 * errors[0]),
            activation_energy=_estimate(theta[1] / per_ev, errors[1] / per_ev),
            exponent=_estimate(theta[2], errors[2]),
            field_voltage=_estimate(V1, V1 * errors[3]),
            path_heating=_estimate(gamma, gamma * errors[4]),
            points=int(used.sum()),
        )
        worst = max(worst, float(np.max(np.abs(residual(theta)))))
    return FieldActivatedCurrentLaw(law="field_activated", max_relative_error=worst, **branches)


def fit_field(table: RateTable, T0: float) -> ActivatedLaw:
    """E1 and activation energy of |E| = E1 |V| exp(-a_E (1/T - 1/T0))."""
    used = (table.voltage != 0) & (table.E_probe > 0)
    x = 1.0 / table.T_probe[used] - 1.0 / T0
    design = np.column_stack([np.ones_like(x), -x])
    target = np.log(table.E_probe[used] / np.abs(table.voltage[used]))
    (log_scale, a), (log_scale_error, a_error) = _least_squares(design, target)
    per_ev = activation_temperature(1.0)
    scale = float(np.exp(log_scale))
    predicted = activated(scale, a / per_ev, T0, table.voltage[used], table.T_probe[used])
    return ActivatedLaw(
        scale=_estimate(scale, scale * log_scale_error),
        activation_energy=_estimate(a / per_ev, a_error / per_ev),
        max_relative_error=float(np.max(np.abs(predicted / table.E_probe[used] - 1.0))),
    )


def _jacobian(residual, theta: np.ndarray) -> np.ndarray:
    """Central differences, step relative to each parameter's size."""
    columns = []
    for i in range(len(theta)):
        step = 1e-6 * max(abs(theta[i]), 1e-6 if i == 3 else 1.0)
        up, down = theta.copy(), theta.copy()
        up[i] += step
        down[i] -= step
        columns.append((residual(up) - residual(down)) / (2 * step))
    return np.column_stack(columns)


def _column_scales(design: np.ndarray) -> np.ndarray:
    """Largest |entry| of each column (1 for an all-zero column): conditions the solve."""
    scales = np.max(np.abs(design), axis=0)
    return np.where(scales > 0, scales, 1.0)


def _standard_errors(jacobian: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """sqrt(diag(sigma^2 (J^T J)^-1)), sigma^2 from the residual and the degrees of freedom."""
    scales = _column_scales(jacobian)
    scaled = jacobian / scales
    dof = max(len(residual) - jacobian.shape[1], 1)
    variance = float(residual @ residual) / dof
    covariance = variance * np.linalg.pinv(scaled.T @ scaled)
    errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None)) / scales
    return np.where(np.isfinite(errors), errors, 0.0)


def _least_squares(design: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and their standard errors for an unconstrained linear fit."""
    scales = _column_scales(design)
    coefficients, *_ = np.linalg.lstsq(design / scales, target, rcond=None)
    coefficients = coefficients / scales
    return coefficients, _standard_errors(design, design @ coefficients - target)


def _estimate(value: float, error: float) -> Estimate:
    return Estimate(value=float(value), error=float(error))


def zero_bias_temperature(bc_temperatures: list[float]) -> float | None:
    """The ambient when every thermal boundary that is not insulated has the same temperature
    (the probe then sits at it at zero bias), else None."""
    distinct = set(bc_temperatures)
    return distinct.pop() if len(distinct) == 1 else None
