"""Material property laws of T (DESIGN.md §3) as UFL expressions and as numpy functions.

The same law must mean the same thing in the FEM forms and in the compact model, so both
evaluations live here, side by side.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from solver.config.schema import (
    ArrheniusLaw,
    ConstantLaw,
    Material,
    MetallicLaw,
    PowerLaw,
    TableLaw,
    WiedemannFranzLaw,
)

K_BOLTZMANN_EV = 8.617333262e-5  # eV/K (CODATA 2018)


def evaluate(law: Any, T: Any, ops: Any, sigma: Callable[[Any], Any] | None = None) -> Any:
    """A law at temperature T, with `ops` providing exp/min/max (the ufl or numpy module)."""
    if isinstance(law, ConstantLaw):
        return law.value + 0 * T
    if isinstance(law, MetallicLaw):
        return law.value / (1 + law.alpha * (T - law.T_ref))
    if isinstance(law, ArrheniusLaw):
        return law.value * ops.exp(-law.activation_energy / K_BOLTZMANN_EV * (1 / T - 1 / law.T_ref))
    if isinstance(law, PowerLaw):
        return law.value * (T / law.T_ref) ** law.exponent
    if isinstance(law, TableLaw):
        # piecewise linear: start value plus each segment's slope times the part of T inside it
        value = law.value[0] + 0 * T
        for (t0, t1), (v0, v1) in zip(zip(law.T, law.T[1:]), zip(law.value, law.value[1:])):
            clamped = ops.min_value(ops.max_value(T, t0), t1)
            value = value + (v1 - v0) / (t1 - t0) * (clamped - t0)
        return value
    if isinstance(law, WiedemannFranzLaw):
        if sigma is None:
            raise ValueError("wiedemann_franz needs the electrical conductivity")
        return law.lorenz * sigma(T) * T + law.phonon
    raise TypeError(f"unknown law {law!r}")


class _NumpyOps:
    exp = staticmethod(np.exp)
    min_value = staticmethod(np.minimum)
    max_value = staticmethod(np.maximum)


def _ufl_ops():
    import ufl

    return ufl


class MaterialLaws:
    """sigma(T), kappa(T), S(T) and C(T) of one material, for UFL (`ufl=True`) or numpy."""

    def __init__(self, material: Material, use_ufl: bool = True):
        self.material = material
        self._ops = _ufl_ops() if use_ufl else _NumpyOps

    def sigma(self, T):
        return evaluate(self.material.electrical_conductivity, T, self._ops)

    def kappa(self, T):
        return evaluate(self.material.thermal_conductivity, T, self._ops, sigma=self.sigma)

    def seebeck(self, T):
        return evaluate(self.material.seebeck, T, self._ops)

    def heat_capacity(self, T):
        if self.material.heat_capacity is None:
            raise ValueError("material has no heat_capacity")
        return evaluate(self.material.heat_capacity, T, self._ops)
