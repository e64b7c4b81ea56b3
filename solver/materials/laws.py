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


def evaluate(law: Any, T: Any, ops: Any, sigma: Callable[[Any], Any] | None = None,
             number: Callable[[float], Any] = float) -> Any:
    """A law at temperature T, with `ops` providing exp/min/max (the ufl or numpy module) and
    `number` turning each law parameter into a value (a DOLFINx Constant in forms)."""
    n = number
    if isinstance(law, ConstantLaw):
        return n(law.value) + 0 * T
    if isinstance(law, MetallicLaw):
        return n(law.value) / (1 + n(law.alpha) * (T - n(law.T_ref)))
    if isinstance(law, ArrheniusLaw):
        return n(law.value) * ops.exp(-n(law.activation_energy) / K_BOLTZMANN_EV * (1 / T - 1 / n(law.T_ref)))
    if isinstance(law, PowerLaw):
        return n(law.value) * (T / n(law.T_ref)) ** n(law.exponent)
    if isinstance(law, TableLaw):
        # piecewise linear: start value plus each segment's slope times the part of T inside it
        Ts, vs = [n(t) for t in law.T], [n(v) for v in law.value]
        value = vs[0] + 0 * T
        for (t0, t1), (v0, v1) in zip(zip(Ts, Ts[1:]), zip(vs, vs[1:])):
            clamped = ops.min_value(ops.max_value(T, t0), t1)
            value = value + (v1 - v0) / (t1 - t0) * (clamped - t0)
        return value
    if isinstance(law, WiedemannFranzLaw):
        if sigma is None:
            raise ValueError("wiedemann_franz needs the electrical conductivity")
        return n(law.lorenz) * sigma(T) * T + n(law.phonon)
    raise TypeError(f"unknown law {law!r}")


class _NumpyOps:
    exp = staticmethod(np.exp)
    min_value = staticmethod(np.minimum)
    max_value = staticmethod(np.maximum)


class MaterialLaws:
    """sigma(T), kappa(T), S(T) and C(T) of one material: UFL expressions when given a mesh
    (every law parameter a Constant, so a sweep over material numbers reuses the compiled
    forms), numpy functions otherwise."""

    def __init__(self, material: Material, mesh=None):
        self.material = material
        if mesh is None:
            self._ops, self._number = _NumpyOps, float
        else:
            import dolfinx.fem
            import ufl

            self._ops = ufl
            self._number = lambda value: dolfinx.fem.Constant(mesh, float(value))

    def _law(self, law, T, sigma=None):
        return evaluate(law, T, self._ops, sigma=sigma, number=self._number)

    def sigma(self, T):
        return self._law(self.material.electrical_conductivity, T)

    def kappa(self, T):
        return self._law(self.material.thermal_conductivity, T, sigma=self.sigma)

    def seebeck(self, T):
        return self._law(self.material.seebeck, T)

    def heat_capacity(self, T):
        if self.material.heat_capacity is None:
            raise ValueError("material has no heat_capacity")
        return self._law(self.material.heat_capacity, T)
