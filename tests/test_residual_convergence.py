"""Convergence order of the implemented residual (not a check of the equations).

Kind: convergence-order test. It solves F(u_h; v) = F(u_exact; v) for all v, with F the
production residual (solver.fem.forms) on both sides, so u_exact solves the *discretised*
equations' continuous counterpart by construction, whatever F says: a wrong sign or a missing
term in F cancels out and this test still passes. What it does check is that the nonlinear
forms, the quadrature and the Newton solve reach the optimal L2 rates of P1 and P2 with
nonlinear sigma(T), kappa(T), S(T). That the forms are the right equations is checked by
tests/test_mms_strong_form.py (sources derived from the strong form with sympy).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("dolfinx")

import ufl  # noqa: E402

from fem_helpers import unit_square_l2_errors  # noqa: E402
from solver.config.schema import Material  # noqa: E402

MATERIAL = Material.model_validate({
    "electrical_conductivity": {"law": "arrhenius", "value": 1.0e3, "activation_energy": 0.2, "T_ref": 400.0},
    "thermal_conductivity": {"law": "power", "value": 50.0, "exponent": -0.5, "T_ref": 400.0},
    "seebeck": {"law": "power", "value": 1.0e-3, "exponent": 1.0, "T_ref": 400.0},
})


def exact(x):
    r, z = x[0], x[1]
    phi = 0.3 * z + 0.1 * ufl.cos(r * r) * ufl.sin(2 * z)
    T = 400 + 100 * ufl.cos(math.pi * r * r / 2) * ufl.sin(math.pi * z) + 50 * z
    return phi, T


@pytest.mark.parametrize("degree, minimum_rate", [(1, 1.9), (2, 2.9)])
def test_implemented_residual_converges_at_the_optimal_rate(degree, minimum_rate):
    sizes = [4, 8, 16, 32] if degree == 2 else [8, 16, 32, 64]
    errors = np.array([unit_square_l2_errors(n, degree, MATERIAL, exact) for n in sizes])
    rates = np.log(errors[:-1] / errors[1:]) / math.log(2.0)
    assert np.all(rates >= minimum_rate), f"rates phi, T per refinement: {rates.tolist()}"
    assert errors[-1, 1] < 1e-2 * 100  # T error below 1% of its 100 K variation on the finest mesh
