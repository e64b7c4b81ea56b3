"""Weighted, bounded nonlinear least squares with finite-difference sensitivities, and what the
data say about the fitted parameters.

The residuals are r_i = (predicted_i - measured_i) / sigma_i, so the cost sum r^2 / 2 is half
the chi-square. The variables x are the fit variables of solver.calibration.parameters (ln p or
p). Each Jacobian column is a one-sided difference with the parameter's step (towards the
inside of the bounds; the other side if a solve fails there); all columns are evaluated in one
batch, so their FEM solves run in parallel. scipy's trust-region reflective method keeps x in
its bounds.

At the optimum, with J the Jacobian of r in x:

- covariance (JᵀJ)⁻¹, standard errors its diagonal's roots, correlations: the data's
  uncertainties are taken as stated (absolute); `reduced_chi2` = chi2 / dof says whether they
  and the model agree (about 1), and `scaled` errors (times sqrt(reduced_chi2)) are given too;
- identifiability: J is scaled to the parameters' bounds (z = (x - lower) / (upper - lower)),
  J_z = U S Vᵀ; the data fix the combination v_k·z to 1/s_k (its spread, in fractions of the
  bounds). A direction whose spread exceeds NULL_SPREAD carries no information at all (an exact
  degeneracy, e.g. two parameters that enter only as a product, seen through finite-difference
  noise): it is left out of the covariance, and its members (weight >= MEMBER) are not
  identified. Every other direction counts, so a standard error is the marginal one, weak
  directions included; a parameter whose standard error exceeds `threshold` of its bounds is
  not identified either. Directions with a spread above `threshold` are reported with their
  members.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
from scipy.optimize import least_squares

from solver.errors import FilathermError, InputError

MEMBER = 0.3  # |weight| of a parameter in a direction that makes it part of that direction
NULL_SPREAD = 100.0  # a direction left free by the data over 100 x its bounds carries no information


@dataclass
class Analysis:
    """What the Jacobian at the optimum says (variables x; see the module docstring)."""

    chi2: float
    dof: int
    singular_values: np.ndarray  # of J scaled to the bounds, descending
    directions: np.ndarray       # rows: the matching right singular vectors (bound-scaled)
    unidentified: list[int]      # indices of directions whose spread exceeds the threshold
    identified: np.ndarray       # per parameter
    covariance: np.ndarray       # of x over the identified directions; NaN for unidentified parameters
    std: np.ndarray              # standard errors of x (NaN: not identified)
    correlation: np.ndarray

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else math.nan

    @property
    def spread(self) -> np.ndarray:
        """Standard deviation along each direction, in fractions of the bounds."""
        with np.errstate(divide="ignore"):
            return np.where(self.singular_values > 0, 1.0 / self.singular_values, math.inf)


def analyse(jacobian: np.ndarray, residuals: np.ndarray, widths: np.ndarray, threshold: float) -> Analysis:
    """Covariance, standard errors, correlations and identifiability at an optimum."""
    J = np.asarray(jacobian, dtype=float)
    widths = np.asarray(widths, dtype=float)
    m, n = J.shape
    _, s, Vt = np.linalg.svd(J * widths[None, :], full_matrices=False)
    s = np.concatenate([s, np.zeros(n - len(s))]) if len(s) < n else s
    if Vt.shape[0] < n:  # fewer data than parameters: complete the basis with the null space
        complement = np.linalg.svd(J * widths[None, :])[2][Vt.shape[0]:]
        Vt = np.vstack([Vt, complement])
    with np.errstate(divide="ignore"):
        spread = np.where(s > 0, 1.0 / s, math.inf)
    unidentified = [k for k in range(n) if spread[k] > threshold]
    null = [k for k in range(n) if spread[k] > NULL_SPREAD]
    kept = [k for k in range(n) if k not in null]
    covariance = sum((np.outer(Vt[k], Vt[k]) / s[k] ** 2 for k in kept), np.zeros((n, n)))
    covariance *= np.outer(widths, widths)
    identified = np.sqrt(np.diag(covariance)) <= threshold * widths
    for k in null:
        identified &= np.abs(Vt[k]) < MEMBER
    covariance[~identified, :] = math.nan
    covariance[:, ~identified] = math.nan
    std = np.sqrt(np.diag(covariance))
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = covariance / np.outer(std, std)
    chi2 = float(np.sum(np.asarray(residuals) ** 2))
    dof = m - int(identified.sum())
    return Analysis(chi2, dof, s, Vt, unidentified, identified, covariance, std, correlation)


@dataclass
class FitResult:
    x: np.ndarray
    residuals: np.ndarray
    jacobian: np.ndarray
    analysis: Analysis
    success: bool
    message: str
    evaluations: int      # residual evaluations asked for by the optimizer
    jacobians: int
    at_bound: list[int] = field(default_factory=list)  # parameters that end on a bound


class FiniteDifferences:
    """Residuals and their Jacobian from batch evaluations `residuals([x, ...]) -> [r, ...]`."""

    def __init__(self, residuals: Callable[[list], list], lower: np.ndarray, upper: np.ndarray,
                 steps: np.ndarray, labels: Sequence[str],
                 failure: Callable[[np.ndarray], Optional[str]] = lambda x: None):
        self.batch = residuals
        self.lower, self.upper, self.steps = lower, upper, steps
        self.labels = list(labels)
        self.failure = failure
        self.jacobians = 0

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return self.batch([np.asarray(x, dtype=float)])[0]

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        r0 = self.residuals(x)
        if not np.all(np.isfinite(r0)):
            raise FilathermError(f"calibration: the residuals are not finite at the point of a Jacobian: "
                                 f"{self.failure(x) or 'unknown reason'}")
        n = len(x)
        sides = np.where(x + self.steps <= self.upper, 1.0, -1.0)
        columns = self._columns(x, sides)
        J = np.empty((len(r0), n))
        retry = []
        for j in range(n):
            if np.all(np.isfinite(columns[j])):
                J[:, j] = (columns[j] - r0) / (sides[j] * self.steps[j])
            else:
                retry.append(j)
        if retry:
            other = -sides
            usable = [j for j in retry if self.lower[j] <= x[j] + other[j] * self.steps[j] <= self.upper[j]]
            again = self._columns(x, other, usable)
            for j in retry:
                if j in usable and np.all(np.isfinite(again[j])):
                    J[:, j] = (again[j] - r0) / (other[j] * self.steps[j])
                else:
                    shifted = x.copy()
                    shifted[j] += sides[j] * self.steps[j]
                    raise FilathermError(
                        f"calibration: the sensitivity to {self.labels[j]} cannot be formed: the solves fail "
                        f"on both sides of the current value ({self.failure(shifted) or 'unknown reason'})")
        self.jacobians += 1
        return J

    def _columns(self, x: np.ndarray, sides: np.ndarray, which: Optional[list] = None) -> dict:
        which = list(range(len(x))) if which is None else which
        points = []
        for j in which:
            shifted = x.copy()
            shifted[j] += sides[j] * self.steps[j]
            points.append(shifted)
        return dict(zip(which, self.batch(points))) if points else {}


def weighted_fit(problem: FiniteDifferences, x0: np.ndarray, widths: np.ndarray, tolerance: float,
                 max_evaluations: int, threshold: float,
                 say: Callable[[str], None] = lambda text: None) -> FitResult:
    """Bounded least squares of `problem` from x0, then the analysis at the optimum."""
    lower, upper = problem.lower, problem.upper
    x0 = np.clip(np.asarray(x0, dtype=float), lower, upper)
    r0 = problem.residuals(x0)
    if not np.all(np.isfinite(r0)):
        raise InputError(f"calibration: the start point cannot be evaluated: {problem.failure(x0) or 'unknown reason'}")
    say(f"calibration: start cost {0.5 * float(r0 @ r0):.6g} (chi2 {float(r0 @ r0):.6g}, {len(r0)} measured values)")
    evaluations = [0]

    def fun(x):
        evaluations[0] += 1
        r = problem.residuals(x)
        if np.all(np.isfinite(r)):
            say(f"  evaluation {evaluations[0]}: chi2 {float(r @ r):.6g}")
        else:
            say(f"  evaluation {evaluations[0]}: failed ({problem.failure(np.asarray(x)) or 'not finite'}); "
                "the step is shortened")
        return r

    result = least_squares(fun, x0, jac=problem.jacobian, bounds=(lower, upper), method="trf",
                           x_scale=widths, ftol=tolerance, xtol=tolerance, gtol=tolerance,
                           max_nfev=max_evaluations)
    x = result.x
    r = problem.residuals(x)
    J = problem.jacobian(x)
    analysis = analyse(J, r, widths, threshold)
    at_bound = [j for j in range(len(x)) if result.active_mask[j] != 0
                or min(x[j] - lower[j], upper[j] - x[j]) <= 1e-9 * widths[j]]
    return FitResult(x, r, J, analysis, bool(result.success), str(result.message), evaluations[0],
                     problem.jacobians, at_bound)
