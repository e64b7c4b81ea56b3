"""The thermal coupling matrix of a tile, fitted to its solved cases, and what it does to rates.

Every solved case gives, for every cell i, its probe temperature T_i and the power P_i
dissipated in its pillar (solver.crosstalk.cells). The model, fitted by linear least squares to
all cells of all cases of one pitch, is

    T_i - T0 = a1 P_i + a2 P_i^2 + sum_{j != i} K(|row_i - row_j|, |col_i - col_j|) P_j

the cell's own heating (with a thermal resistance a1 + a2 P that rises with power, as in the
compact model) plus the heat of its neighbours, superposed. K is translation invariant,
mirror symmetric (it depends on the row and column distance only) and non-negative (a
neighbour's heat can only warm a cell), an approximation for the
cells near the tile's edges that the fit's residual measures. K = 0 beyond the tile's extent.

The neighbour heating of cell i in a case is then dT_i = T_i - T0 - a1 P_i - a2 P_i^2 (what the
solve shows beyond the fitted self-heating), and the crossbar model takes it as a raised
ambient: the rate of a cell at voltage V becomes that of the compact model's steady state with
its ambient raised by dT, in which the cell's own conductance and heating rise too
(solver.crosstalk.disturbance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

from solver.compact.laws import activated
from solver.compact.model import CompactModel


@dataclass(frozen=True)
class Coupling:
    """Fitted self-heating a1 [K/W], a2 [K/W^2] and coupling K[dr, dc] [K/W] (K[0, 0] = 0)."""

    a1: float
    a2: float
    K: np.ndarray  # (rows, cols): K[dr, dc] for row distance dr and column distance dc
    T0: float
    rms_residual: float  # K
    max_residual: float  # K
    points: int

    def self_heating(self, power) -> np.ndarray:
        P = np.asarray(power, dtype=float)
        return self.a1 * P + self.a2 * P * P

    def neighbour_heating(self, powers: np.ndarray) -> np.ndarray:
        """sum_{j != i} K(|dr|, |dc|) P_j for every cell i of a (rows, cols) power map [K]
        (any array size: offsets beyond the fitted ones contribute nothing)."""
        P = np.asarray(powers, dtype=float)
        rows, cols = P.shape
        out = np.zeros_like(P)
        for dr in range(-(self.K.shape[0] - 1), self.K.shape[0]):
            for dc in range(-(self.K.shape[1] - 1), self.K.shape[1]):
                k = self.K[abs(dr), abs(dc)]
                if k == 0.0 or abs(dr) >= rows or abs(dc) >= cols:
                    continue
                # out[i, j] += k P[i + dr, j + dc] where that cell exists
                out[max(0, -dr):rows - max(0, dr), max(0, -dc):cols - max(0, dc)] += \
                    k * P[max(0, dr):rows - max(0, -dr), max(0, dc):cols - max(0, -dc)]
        return out

    def as_dict(self) -> dict:
        return {"a1": self.a1, "a2": self.a2, "K": self.K.tolist(), "T0": self.T0,
                "rms_residual": self.rms_residual, "max_residual": self.max_residual, "points": self.points}


def offsets(shape: tuple[int, int]) -> list[tuple[int, int]]:
    """The distinct (row distance, column distance) of a tile, (0, 0) left out."""
    return [(dr, dc) for dr in range(shape[0]) for dc in range(shape[1]) if (dr, dc) != (0, 0)]


def fit_coupling(temperatures: list[np.ndarray], powers: list[np.ndarray], T0: float) -> Coupling:
    """Least-squares fit of a1, a2 and K to (rows, cols) maps of probe temperature [K] and
    pillar power [W], one pair per solved case."""
    shape = temperatures[0].shape
    pairs = offsets(shape)
    rows_A, rhs = [], []
    for T, P in zip(temperatures, powers):
        for i in range(shape[0]):
            for j in range(shape[1]):
                neighbours = np.zeros(len(pairs))
                for k, (dr, dc) in enumerate(pairs):
                    for ii in {i - dr, i + dr}:
                        for jj in {j - dc, j + dc}:
                            if 0 <= ii < shape[0] and 0 <= jj < shape[1]:
                                neighbours[k] += P[ii, jj]
                rows_A.append(np.concatenate([[P[i, j], P[i, j] ** 2], neighbours]))
                rhs.append(T[i, j] - T0)
    A, b = np.array(rows_A), np.array(rhs)
    # columns differ by orders of magnitude (P ~ 1e-4 W, P^2 ~ 1e-8 W^2): scale before solving
    scale = np.abs(A).max(axis=0)
    scale[scale == 0] = 1.0
    # a neighbour's heat can only warm a cell: K >= 0 (the self-heating terms are free)
    lower = np.concatenate([[-np.inf, -np.inf], np.zeros(len(pairs))])
    solution = lsq_linear(A / scale, b, bounds=(lower, np.inf), method="bvls").x / scale
    residual = A @ solution - b
    K = np.zeros(shape)
    for (dr, dc), value in zip(pairs, solution[2:]):
        K[dr, dc] = value
    return Coupling(float(solution[0]), float(solution[1]), K, T0, float(np.sqrt(np.mean(residual ** 2))),
                    float(np.abs(residual).max()), len(b))


def heated_rate_ratio(model: CompactModel, voltage, delta_T) -> np.ndarray:
    """rate(V, T') / rate(V, T) through the compact model: T its steady probe temperature at V,
    T' the same with the ambient raised by delta_T (the cell's own conductance and power rise
    with it: the electro-thermal feedback is the compact model's), the field from its field
    law at each temperature, the rate from its kinetics."""
    v = np.asarray(voltage, dtype=float)
    law = model.field_law

    def rate(temperature):
        field = activated(law.scale.value, law.activation_energy.value, model.T0, v, temperature)
        return model.kinetics.rate(temperature, field, model.state, np.sign(v))

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ratio = rate(model.temperature(v, delta_T)) / rate(model.temperature(v))
    return np.where(v == 0, 1.0, ratio)
