"""The electro-thermal weak form (docs/physics.md), region by region.

    J   = -sigma(T) (grad phi + S(T) grad T)
    F_phi(w) = int  -J . grad w                                                 omega dx
    F_T(v)   = int [ C dT/dt v + (kappa grad T - S T J) . grad v + (J . grad phi) v ] omega dx
               + int_convective h (T - T_amb) v omega ds

omega is the coordinate system's weight (solver.fem.coordinates): r in the axisymmetric cell,
where every integrand carries r and there is no 1/r; 1 in Cartesian coordinates.
The Peltier flux S T J is integrated by parts with the conduction flux, so the heat T (S1 - S2)
J.n released where S jumps comes out of the assembly with no interface term, and the natural
boundary condition is zero *total* heat flux.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import ufl

from solver.materials.laws import MaterialLaws


@dataclass
class RegionLaws:
    """Cell tag and material laws of one region."""

    tag: int
    laws: MaterialLaws


@dataclass
class TimeTerm:
    """C dT/dt ~ C (a0 T + a1 T_n + a2 T_{n-1}) / dt, coefficients held in Constants.

    Backward Euler: (1, -1, 0); BDF2 with steps dt, dt_prev: the variable-step coefficients.
    """

    inv_dt: object
    a0: object
    a1: object
    a2: object
    T_n: object
    T_nm1: object

    def rate(self, T):
        return self.inv_dt * (self.a0 * T + self.a1 * self.T_n + self.a2 * self.T_nm1)


def field_squared(phi):
    """|E|^2 = |grad phi|^2 [V^2/m^2]: what field-dependent conduction laws depend on."""
    return ufl.inner(ufl.grad(phi), ufl.grad(phi))


def current_density(laws: MaterialLaws, phi, T):
    """J = -sigma(T, |E|) (grad phi + S grad T)."""
    return -laws.sigma(T, field_squared(phi)) * (ufl.grad(phi) + laws.seebeck(T) * ufl.grad(T))


def heat_flux(laws: MaterialLaws, T, J):
    """q = -kappa grad T + S T J [W/m^2]: conduction plus the Peltier flux carried by J."""
    return -laws.kappa(T) * ufl.grad(T) + laws.seebeck(T) * T * J


def residual(regions: list[RegionLaws], phi, T, w, v, weight, dx, robin: list[tuple[object, object, object]],
             ds, time: Optional[TimeTerm] = None):
    """F(phi, T; w, v) summed over regions, plus Robin terms [(facet tag, h, T_amb), ...];
    `weight` is the coordinate system's integration weight."""
    F = 0
    for region in regions:
        laws = region.laws
        J = current_density(laws, phi, T)
        charge = ufl.inner(-J, ufl.grad(w))
        heat_flux_weak = ufl.inner(-heat_flux(laws, T, J), ufl.grad(v))
        work = ufl.inner(J, ufl.grad(phi)) * v
        integrand = charge + heat_flux_weak + work
        if time is not None:
            integrand += laws.heat_capacity(T) * time.rate(T) * v
        F += integrand * weight * dx(region.tag)
    for tag, h, ambient in robin:
        F += h * (T - ambient) * v * weight * ds(tag)
    return F


def joule_heat_density(laws: MaterialLaws, phi, T):
    """|J|^2 / sigma [W/m^3]: the Joule part of the heat source."""
    J = current_density(laws, phi, T)
    return ufl.inner(J, J) / laws.sigma(T, field_squared(phi))


def field_magnitude(phi):
    """|E| = |grad phi| [V/m]."""
    return ufl.sqrt(field_squared(phi))

