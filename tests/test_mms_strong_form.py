"""Manufactured solution with sources from the strong form: the forms solve the right equations.

Kind: verification. The sources f_phi, f_T are derived with sympy from the strong form in
axisymmetric coordinates (tests/strong_form.py), independently of solver/fem/forms.py, for
nonlinear sigma(T) (Arrhenius), kappa(T) (power law) and S(T) (linear in T, so Thomson heat is
present). The production residual plus these sources is solved with the exact fields on every
side but the axis; the L2 error must fall at the optimal rate, down to a small value. A wrong
sign of the Peltier flux, a factor on kappa or a Seebeck term missing from J makes the discrete
solution converge to a different field, and the error stalls (tests/test_mutations.py plants
each of these and checks that this test fails).

The fields are chosen so that conduction, the Peltier flux divergence and the work J.grad phi
are all of the same order in the energy source (see `strong_form.sources()`). That coupling is
strong enough that Newton needs a start near the solution: it starts from the interpolated
exact fields (the discrete solution it converges to does not depend on the start).

Measured: P1, n = 8/16/32: T error 1.50/0.39/0.098 K, rates 1.92-2.00 (phi and T);
P2, n = 4/8/16: T error 0.24/0.029/0.0036 K, rates 3.0-3.6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("dolfinx")

from fem_helpers import unit_square_l2_errors  # noqa: E402
from solver.config.schema import Material  # noqa: E402
import strong_form  # noqa: E402

MATERIAL = Material.model_validate(strong_form.MATERIAL)


def errors_on(sizes: list[int], degree: int) -> np.ndarray:
    phi, T, f_phi, f_T, _ = strong_form.sources()

    def exact(x):
        return strong_form.to_ufl(phi, x), strong_form.to_ufl(T, x)

    def source(x, w, v, r, dx):
        return (strong_form.to_ufl(f_phi, x) * w + strong_form.to_ufl(f_T, x) * v) * r * dx

    return np.array([unit_square_l2_errors(n, degree, MATERIAL, exact, source, start_from_exact=True)
                     for n in sizes])


@pytest.mark.parametrize("degree, sizes, minimum_rate, T_error", [
    (1, [8, 16, 32], 1.9, 0.15),
    (2, [4, 8, 16], 2.9, 0.01),
])
def test_strong_form_manufactured_solution_converges(degree, sizes, minimum_rate, T_error):
    """L2 rates >= minimum_rate per halving for phi and T, and the finest T error below T_error
    [K] of the 150 K variation of T."""
    errors = errors_on(sizes, degree)
    rates = np.log(errors[:-1] / errors[1:]) / math.log(2.0)
    assert np.all(rates >= minimum_rate), f"errors {errors.tolist()}, rates phi, T: {rates.tolist()}"
    assert errors[-1, 1] < T_error, errors.tolist()
