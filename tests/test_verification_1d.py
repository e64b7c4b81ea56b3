"""Verification against closed-form and 1D reference solutions (issue 4, items 1-4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from fem_helpers import slab_config, solve

pytest.importorskip("dolfinx")

T0 = 300.0


def temperatures_at(problem, z_value: float, tol: float = 1e-12) -> np.ndarray:
    """T at the dofs on the plane z = z_value [m]."""
    x = problem.V_T.tabulate_dof_coordinates()
    on_plane = np.abs(x[:, 1] - z_value) < tol
    return problem.u.x.array[problem.T_map][on_plane]


def material(sigma: float, kappa: float, seebeck=0.0) -> dict:
    return {"electrical_conductivity": sigma, "thermal_conductivity": kappa, "seebeck": seebeck}


def test_joule_slab_peak_temperature_and_current():
    sigma, kappa, V, L, R = 1e4, 2.0, 0.5, 1e-6, 0.2e-6
    raw = slab_config([{"name": "slab", "material": "M", "thickness": 1.0}], {"M": material(sigma, kappa)})
    problem, qoi = solve(raw, V)
    assert qoi["status"] == "ok"
    assert qoi["current"] == pytest.approx(sigma * V * math.pi * R**2 / L, rel=1e-6)
    expected_rise = sigma * V**2 / (8 * kappa)
    assert qoi["T_max"] - T0 == pytest.approx(expected_rise, rel=5e-3)


def test_radial_joule_cylinder_profile():
    """Current along z, insulated top and bottom, outer wall at T0: T0 + sigma E^2 (R^2 - r^2) / 4 kappa."""
    sigma, kappa, V, L, R = 1e4, 2.0, 0.5, 1e-6, 1e-6
    raw = slab_config([{"name": "rod", "material": "M", "thickness": 1.0}], {"M": material(sigma, kappa)},
                      radius=1.0, size=0.04, top="insulated", bottom="insulated", outer={"temperature": T0})
    problem, qoi = solve(raw, V)
    E = V / L
    x = problem.V_T.tabulate_dof_coordinates()
    T = problem.u.x.array[problem.T_map]
    exact = T0 + sigma * E**2 * (R**2 - x[:, 0] ** 2) / (4 * kappa)
    rise_scale = sigma * E**2 * R**2 / (4 * kappa)
    assert np.max(np.abs(T - exact)) / rise_scale < 5e-3
    assert qoi["energy_balance"] < 2e-2  # boundary fluxes of the discrete fields: O(h)


def peltier_1d(V, L1, L2, s1, s2):
    """Interface temperature and current density of the two-layer thermoelectric slab.

    Each layer: -kappa T'' = j^2/sigma; at the interface T is continuous and the conduction
    flux jumps by the Peltier heat (S1 - S2) T_i j; the Seebeck EMF enters the circuit:
    V = j (L1/sigma1 + L2/sigma2) - (S1 - S2)(T_i - T0). (j > 0 flows from top to bottom.)
    """
    (sig1, kap1, S1), (sig2, kap2, S2) = s1, s2

    def interface(j):
        g1, g2 = j * j / (sig1 * kap1), j * j / (sig2 * kap2)
        # unknowns A, B, Ti: Ti = T0 + A L1 - g1 L1^2/2 = T0 + B L2 - g2 L2^2/2 and
        # kap2 (-B + g2 L2) - kap1 (A - g1 L1) = (S1 - S2) Ti j
        M = np.array([[L1, 0.0, -1.0], [0.0, L2, -1.0], [-kap1, -kap2, -(S1 - S2) * j]])
        rhs = np.array([g1 * L1**2 / 2 - T0, g2 * L2**2 / 2 - T0, -kap2 * g2 * L2 - kap1 * g1 * L1])
        return np.linalg.solve(M, rhs)[2]

    R_area = L1 / sig1 + L2 / sig2
    mismatch = lambda j: j * R_area - (S1 - S2) * (interface(j) - T0) - V  # noqa: E731
    # the physical root is the first one met going out from j = 0 in the direction of V
    grid = np.linspace(0.0, 10 * V / R_area, 2001)
    values = [mismatch(j) for j in grid]
    k = next(i for i in range(len(grid) - 1) if values[i] * values[i + 1] <= 0)
    j = brentq(mismatch, grid[k], grid[k + 1], xtol=1e-16, rtol=1e-15)
    return interface(j), j


def test_peltier_interface_temperature_and_its_reversal():
    lower = (1e5, 1.5, 2e-4)   # sigma, kappa, S (a p-type thermoelectric)
    upper = (1e5, 1.5, -2e-4)  # n-type
    materials = {"P": material(*lower), "N": material(*upper)}
    layers = [{"name": "p", "material": "P", "thickness": 1.0}, {"name": "n", "material": "N", "thickness": 1.0}]
    raw = slab_config(layers, materials, size=0.02)
    L = 1e-6
    rises = {}
    for V in (0.3, -0.3):
        problem, qoi = solve(raw, V)
        T_i = temperatures_at(problem, L)
        expected, j = peltier_1d(V, L, L, lower, upper)
        assert np.mean(T_i) == pytest.approx(expected, rel=1e-3)
        assert (np.mean(T_i) - T0) == pytest.approx(expected - T0, rel=1e-3)
        assert qoi["current"] == pytest.approx(j * math.pi * (0.2e-6) ** 2, rel=1e-3)
        rises[V] = (np.mean(T_i), expected)
    measured_shift = rises[0.3][0] - rises[-0.3][0]
    predicted_shift = rises[0.3][1] - rises[-0.3][1]
    assert abs(predicted_shift) > 10  # the Peltier heat is a real effect here, not noise
    assert measured_shift == pytest.approx(predicted_shift, rel=1e-3)


def thomson_1d(V, L, sigma, kappa, s0, s_slope):
    """T(z) of one layer with S = s0 + s_slope (T - T0), T0 at both ends.

    With constant sigma and T(0) = T(L), the Seebeck EMF around the layer vanishes, so
    j = sigma V / L; energy: kappa T'' + j s_slope T T' + j^2/sigma = 0 (Thomson heat
    -T J.grad S with J_z = -j). Integrated once: kappa T' + j s_slope T^2 / 2 + j^2 z / sigma = C;
    C is found by shooting to T(L) = T0 and the ODE solved to 1e-12.
    """
    j = sigma * V / L

    def shoot(C, dense=False):
        rhs = lambda z, T: [(C - j * s_slope * T[0] ** 2 / 2 - j * j * z / sigma) / kappa]  # noqa: E731
        return solve_ivp(rhs, (0.0, L), [T0], rtol=1e-12, atol=1e-12, dense_output=dense)

    C0 = j * s_slope * T0**2 / 2 + j * j * L / (2 * sigma)
    span = abs(C0) + kappa * 1e4 / L
    C = brentq(lambda C: shoot(C).y[0, -1] - T0, C0 - span, C0 + span, xtol=1e-14, rtol=1e-14)
    return shoot(C, dense=True).sol, j


def test_thomson_heat_against_the_1d_solution():
    sigma, kappa, s0, T_ref = 1e4, 2.0, 3e-4, 300.0
    # power law with exponent 1: S = s0 T / T_ref, so dS/dT = s0 / T_ref (constant)
    mat = {"electrical_conductivity": sigma, "thermal_conductivity": kappa,
           "seebeck": {"law": "power", "value": s0, "exponent": 1.0, "T_ref": T_ref}}
    raw = slab_config([{"name": "slab", "material": "M", "thickness": 1.0}], {"M": mat}, size=0.02)
    V, L = 0.4, 1e-6
    problem, qoi = solve(raw, V)
    profile, j = thomson_1d(V, L, sigma, kappa, s0, s0 / T_ref)
    x = problem.V_T.tabulate_dof_coordinates()
    T = problem.u.x.array[problem.T_map]
    exact = profile(x[:, 1])[0]
    rise = exact.max() - T0
    assert np.max(np.abs(T - exact)) / rise < 5e-3
    # the Thomson term matters: without it the profile would be symmetric about the midplane
    asymmetry = profile(0.25 * L)[0] - profile(0.75 * L)[0]
    assert abs(asymmetry) / rise > 0.05
    assert qoi["current"] == pytest.approx(j * math.pi * (0.2e-6) ** 2, rel=1e-6)
