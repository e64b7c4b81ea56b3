"""Field- and temperature-activated conduction (trap-to-trap hopping, Poole-Frenkel) and
state-dependent law parameters.

Verification: a slab of such a conductor between two electrodes held at T0, heated by its own
current, is a 1D boundary-value problem. Written independently of the FEM code in terms of the
current density j (a constant): dphi/dz = E(T, j), the field that carries j at T (the law's
j = sigma(T, E) E inverted), d/dz (kappa dT/dz) = -j E, T(0) = T(L) = T0, phi(0) = 0,
phi(L) = V, and solved with scipy's solve_bvp. The FEM solve of the same slab (axisymmetric,
insulated outer wall: 1D in z) must give its current and peak temperature within 0.5% over
voltages where the field term changes the conductance by a factor of several.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_bvp
from scipy.optimize import brentq

from fem_helpers import slab_config, solve
from solver.config import validate_config
from solver.constants import BOLTZMANN, ELEMENTARY_CHARGE, VACUUM_PERMITTIVITY
from solver.errors import ConfigError
from solver.materials.laws import NUMPY, HoppingLaw, LawContext

pytest.importorskip("dolfinx")

q, k = ELEMENTARY_CHARGE, BOLTZMANN
L, RADIUS, KAPPA, T0 = 10e-9, 20e-9, 0.2, 300.0
HOPPING = {"law": "hopping", "carrier_density": 1e25, "hop_distance": 3e-9, "attempt_frequency": 2e13,
           "activation_energy": 0.1}
POOLE_FRENKEL = {"law": "poole_frenkel", "value": 5e5, "activation_energy": 0.3, "relative_permittivity": 20.0}


def hopping_current(T, E):
    """j = q N d nu exp(-Ea/kT) 2 sinh(q d E / 2kT), written out by hand."""
    N, d, nu, Ea = 1e25, 3e-9, 2e13, 0.1
    return q * N * d * nu * np.exp(-Ea * q / (k * T)) * 2 * np.sinh(q * d * E / (2 * k * T))


def poole_frenkel_current(T, E):
    """j = sigma0 exp(-(Ea - sqrt(q E / (pi eps0 eps_r))) / kT) E, barrier in eV."""
    lowering = np.sqrt(q * E / (np.pi * VACUUM_PERMITTIVITY * 20.0))  # V
    return 5e5 * np.exp(-(0.3 - lowering) * q / (k * T)) * E


# law, its current written by hand, two voltages: low (field effect only) and high (self-heated)
LAWS = {"hopping": (HOPPING, hopping_current, (0.2, 0.45)),
        "poole_frenkel": (POOLE_FRENKEL, poole_frenkel_current, (0.2, 0.39))}


def reference(current_law, V: float) -> tuple[float, float]:
    """(j [A/m^2], peak T [K]) of the self-heated slab at voltage V, by solve_bvp in the
    dimensionless depth s = z / L: y = (phi [V], T [K], dT/ds [K]), parameter j / j0."""
    j0 = current_law(T0, V / L)

    def field(T, j):
        out = []
        for t in np.atleast_1d(T):
            upper = V / L
            while current_law(t, upper) < j:  # the current grows with E without bound
                upper *= 2
            out.append(brentq(lambda E: current_law(t, E) - j, 0.0, upper, xtol=1e-3, rtol=1e-14))
        return np.array(out)

    def rhs(s, y, p):
        phi, T, slope = y
        E = field(T, p[0] * j0)
        return np.vstack([L * E, slope, -L * L * p[0] * j0 * E / KAPPA])

    def bc(ya, yb, p):
        return np.array([ya[0], yb[0] - V, ya[1] - T0, yb[1] - T0])

    s = np.linspace(0, 1, 41)
    guess = np.vstack([V * s, T0 + 0.0 * s, 0.0 * s])
    solution = solve_bvp(rhs, bc, s, guess, p=[1.0], tol=1e-8, max_nodes=20000)
    assert solution.success, solution.message
    return float(solution.p[0] * j0), float(solution.sol(np.linspace(0, 1, 2001))[1].max())


def slab(law: dict) -> dict:
    materials = {"C": {"electrical_conductivity": law, "thermal_conductivity": KAPPA}}
    return slab_config([{"name": "slab", "material": "C", "thickness": 10.0}], materials, radius=20.0,
                       size=0.25, units="nm")


@pytest.mark.parametrize("name", list(LAWS))
def test_field_activated_conductor_matches_the_independent_bvp(name):
    law, current_law, voltages = LAWS[name]
    raw = slab(law)
    area = math.pi * RADIUS**2
    field_effect = []
    for V in voltages:
        _, record = solve(raw, V)
        assert record["status"] == "ok", record["reason"]
        j, T_peak = reference(current_law, V)
        assert record["current"] == pytest.approx(j * area, rel=5e-3), (name, V)
        assert record["T_max"] - T0 == pytest.approx(T_peak - T0, rel=5e-3), (name, V)
        field_effect.append(current_law(T0, V / L) / (current_law(T0, 1e3) / 1e3 * V / L))
    assert max(field_effect) > 2.0  # the field term matters here (conductance x several)
    assert T_peak - T0 > 50.0  # and so does the self-heating


def test_hopping_conductivity_is_smooth_and_even_at_zero_field():
    law = HoppingLaw(**HOPPING)
    T = np.array([300.0, 300.0, 300.0])
    sigma = law.at(T, LawContext(NUMPY.ops, float, None, np.array([0.0, 1e-30, 1e6]) ** 2, None))
    low_field = q * q * 1e25 * 9e-18 * 2e13 / (k * 300.0) * math.exp(-0.1 * q / (k * 300.0))
    assert sigma[0] == pytest.approx(low_field, rel=1e-12) and sigma[1] == sigma[0]
    x = q * 3e-9 * 1e6 / (2 * k * 300.0)
    assert sigma[2] == pytest.approx(low_field * math.sinh(x) / x, rel=1e-12)


def test_a_state_dependent_parameter_follows_the_state():
    raw = slab({**HOPPING, "activation_energy": {"intercept": 0.2, "slope": -1e-26, "minimum": 0.05}})
    with pytest.raises(ConfigError, match="needs a `state:` block"):
        validate_config(raw)
    raw["state"] = {"name": "vacancy_concentration", "unit": "1/m^3", "value": 1e25}
    config = validate_config(raw)
    law = config.materials["C"].electrical_conductivity
    ctx = LawContext(NUMPY.ops, float, None, 0.0, config.state.value)
    assert law.at(300.0, ctx) == pytest.approx(HoppingLaw(**HOPPING).at(300.0, NUMPY), rel=1e-12)  # 0.2 - 0.1
    floor = LawContext(NUMPY.ops, float, None, 0.0, 1e27)  # 0.2 - 10 < 0.05: the minimum holds
    assert law.at(300.0, floor) == pytest.approx(
        HoppingLaw(**{**HOPPING, "activation_energy": 0.05}).at(300.0, NUMPY), rel=1e-12)
