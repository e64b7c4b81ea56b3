"""Planted errors in the weak form, for tests/test_mutations.py (a pytest plugin).

Loaded with `-p mutations` (tests/ on PYTHONPATH) and FILATHERM_MUTATION naming one entry of
MUTATIONS, it replaces a function of solver.fem.forms in memory before any test imports the
solver; no file is edited. `residual` looks `current_density` and `heat_flux` up in the module
at call time, so every form compiled afterwards carries the error. Unset: nothing is patched.

    FILATHERM_MUTATION=flip_peltier PYTHONPATH=tests python -m pytest -p mutations tests/...
"""

from __future__ import annotations

import os

import ufl

from solver.fem import forms


def _flip_peltier(laws, T, J):
    return -laws.kappa(T) * ufl.grad(T) - laws.seebeck(T) * T * J


def _double_kappa(laws, T, J):
    return -2 * laws.kappa(T) * ufl.grad(T) + laws.seebeck(T) * T * J


def _no_seebeck_in_current(laws, phi, T):
    return -laws.sigma(T) * ufl.grad(phi)


MUTATIONS = {
    "flip_peltier": ("heat_flux", _flip_peltier),          # q = -kappa grad T - S T J
    "double_kappa": ("heat_flux", _double_kappa),          # q = -2 kappa grad T + S T J
    "drop_seebeck_in_current": ("current_density", _no_seebeck_in_current),  # J = -sigma grad phi
}

ENV = "FILATHERM_MUTATION"


def apply(name: str) -> None:
    if name not in MUTATIONS:
        raise ValueError(f"{ENV}={name!r}: not one of {sorted(MUTATIONS)}")
    attribute, replacement = MUTATIONS[name]
    setattr(forms, attribute, replacement)


def pytest_configure(config):
    name = os.environ.get(ENV)
    if name:
        apply(name)


def pytest_report_header(config):
    name = os.environ.get(ENV)
    return f"planted error in solver.fem.forms: {name}" if name else None
