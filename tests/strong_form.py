"""Manufactured sources from the strong form, with sympy, independently of solver/fem/forms.py.

The steady electro-thermal equations in axisymmetric (r, z) coordinates, as written in
README.md ("Physics"), with every material law written out here again in sympy:

    J = -sigma(T) (grad phi + S(T) grad T)
    charge:  div J = f_phi
    energy:  div(-kappa(T) grad T + S(T) T J) + J . grad phi = f_T

    grad f = (df/dr, df/dz),   div F = (1/r) d(r F_r)/dr + dF_z/dz.

For chosen fields (phi, T) the sources f_phi, f_T follow by differentiation; nothing here
imports the weak form, so a sign, a factor or a missing term in the forms shows up as a
solution that does not converge to (phi, T).
"""

from __future__ import annotations

import math

import sympy as sp

r, z = sp.symbols("r z", positive=True)
K_B = 8.617333262e-5  # eV/K (CODATA 2018)

# Laws (the same parameters as MATERIAL in the test, written independently of laws.py):
SIGMA0, EA, T_REF = 1.0e4, 0.2, 400.0     # arrhenius: sigma0 exp(-Ea/k (1/T - 1/T_ref)) [S/m]
KAPPA0, KAPPA_EXP = 5.0, -0.5             # power: kappa0 (T/T_ref)^n [W/(m K)]
SEEBECK0 = 1.0e-3                         # linear: S0 T/T_ref [V/K] (a Thomson coefficient too)

MATERIAL = {
    "electrical_conductivity": {"law": "arrhenius", "value": SIGMA0, "activation_energy": EA, "T_ref": T_REF},
    "thermal_conductivity": {"law": "power", "value": KAPPA0, "exponent": KAPPA_EXP, "T_ref": T_REF},
    "seebeck": {"law": "power", "value": SEEBECK0, "exponent": 1.0, "T_ref": T_REF},
}


def sigma(T):
    return SIGMA0 * sp.exp(-EA / K_B * (1 / T - 1 / T_REF))


def kappa(T):
    return KAPPA0 * (T / T_REF) ** KAPPA_EXP


def seebeck(T):
    return SEEBECK0 * T / T_REF


def exact_fields():
    """(phi [V], T [K]) on the unit square, smooth, with zero r-derivative on the axis."""
    phi = sp.Rational(3, 10) * z + sp.Rational(1, 10) * sp.cos(r**2) * sp.sin(2 * z)
    T = 400 + 100 * sp.cos(sp.pi * r**2 / 2) * sp.sin(sp.pi * z) + 50 * z
    return phi, T


def grad(f):
    return (sp.diff(f, r), sp.diff(f, z))


def div(F):
    return sp.diff(r * F[0], r) / r + sp.diff(F[1], z)


def sources():
    """(phi, T, f_phi, f_T, terms): the exact fields, their sources and, for inspection,
    the magnitudes' ingredients (conduction, Peltier and Joule parts of the energy source)."""
    phi, T = exact_fields()
    gphi, gT = grad(phi), grad(T)
    J = tuple(-sigma(T) * (gphi[i] + seebeck(T) * gT[i]) for i in range(2))
    conduction = tuple(-kappa(T) * gT[i] for i in range(2))
    peltier = tuple(seebeck(T) * T * J[i] for i in range(2))
    work = J[0] * gphi[0] + J[1] * gphi[1]
    f_phi = div(J)
    f_T = div(tuple(conduction[i] + peltier[i] for i in range(2))) + work
    terms = {"div_conduction": div(conduction), "div_peltier": div(peltier), "work": work}
    return phi, T, f_phi, f_T, terms


def to_ufl(expression, x):
    """A sympy expression of (r, z) as a UFL expression of the spatial coordinate x."""
    import ufl

    functions = {"sin": ufl.sin, "cos": ufl.cos, "exp": ufl.exp, "sqrt": ufl.sqrt, "pi": math.pi}
    return sp.lambdify((r, z), expression, modules=[functions])(x[0], x[1])
