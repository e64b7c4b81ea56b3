"""Manufactured solutions: the coupled nonlinear forms converge at the optimal L2 rates.

The weak-form MMS: solve F(u_h; v) = F(u_exact; v) for all v, with F the production residual
(solver.fem.forms) and u_exact smooth in r^2 and z, so u_exact solves the continuous problem
exactly without deriving (and dividing by r in) a strong-form source.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("dolfinx")

import dolfinx.fem  # noqa: E402
import dolfinx.mesh  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402

from solver.config.schema import Material  # noqa: E402
from solver.fem import compat  # noqa: E402
from solver.fem.forms import RegionLaws, residual  # noqa: E402
from solver.fem.snes import BorderedNewton  # noqa: E402
from solver.materials.laws import MaterialLaws  # noqa: E402

MATERIAL = Material.model_validate({
    "electrical_conductivity": {"law": "arrhenius", "value": 1.0e3, "activation_energy": 0.2, "T_ref": 400.0},
    "thermal_conductivity": {"law": "power", "value": 50.0, "exponent": -0.5, "T_ref": 400.0},
    "seebeck": {"law": "power", "value": 1.0e-3, "exponent": 1.0, "T_ref": 400.0},
})


class NoTerminal:
    """The MMS has Dirichlet potential everywhere it matters: U stays 0."""

    def set_scalar(self, value):
        pass

    def equation(self):
        return 0.0

    def coupled(self):
        return False

    def assemble_border(self, b_vec, c_vec, with_b):
        with c_vec.localForm() as local:
            local.set(0.0)
        return 1.0

    def top_global_dofs(self):
        return np.array([], dtype=np.int64)


def exact(x):
    r, z = x[0], x[1]
    phi = 0.3 * z + 0.1 * ufl.cos(r * r) * ufl.sin(2 * z)
    T = 400 + 100 * ufl.cos(math.pi * r * r / 2) * ufl.sin(math.pi * z) + 50 * z
    return phi, T


def l2_errors(n: int, degree: int) -> tuple[float, float]:
    mesh = dolfinx.mesh.create_rectangle(MPI.COMM_WORLD, [np.array([0.0, 0.0]), np.array([1.0, 1.0])],
                                         [n, n], dolfinx.mesh.CellType.triangle)
    W = compat.lagrange_space(mesh, degree, components=2)
    V_phi, phi_map = compat.collapse(W.sub(0))
    V_T, T_map = compat.collapse(W.sub(1))
    u = dolfinx.fem.Function(W)
    phi_h, T_h = ufl.split(u)
    w, v = ufl.TestFunctions(W)
    x = ufl.SpatialCoordinate(mesh)
    r = x[0]
    phi_e, T_e = exact(x)
    q = 2 * degree + 1
    dx = ufl.Measure("dx", domain=mesh, metadata={"quadrature_degree": q})
    ds = ufl.Measure("ds", domain=mesh)
    regions = [RegionLaws(0, MaterialLaws(MATERIAL, mesh))]
    tagged = lambda tag: dx  # noqa: E731 (one region: the whole mesh)
    F = (residual(regions, phi_h, T_h, w, v, r, tagged, [], ds)
         - residual(regions, phi_e, T_e, w, v, r, tagged, [], ds))
    J = ufl.derivative(F, u, ufl.TrialFunction(W))

    fdim = mesh.topology.dim - 1
    facets = dolfinx.mesh.locate_entities_boundary(mesh, fdim, lambda p: p[0] > 1e-12)  # not the axis
    g_phi, g_T = dolfinx.fem.Function(V_phi), dolfinx.fem.Function(V_T)
    compat.interpolate_expression(g_phi, phi_e)
    compat.interpolate_expression(g_T, T_e)
    bcs = [compat.dirichletbc(g_phi, compat.locate_dofs_topological((W.sub(0), V_phi), fdim, facets), W.sub(0)),
           compat.dirichletbc(g_T, compat.locate_dofs_topological((W.sub(1), V_T), fdim, facets), W.sub(1))]
    u.x.array[T_map] = 400.0
    compat.set_bc(compat.petsc_vector(u), bcs)
    compat.scatter_forward(u)

    forms = [compat.create_form(f) for f in (F, J)]
    newton = BorderedNewton(u, forms[0], forms[1], (forms[0], forms[0]), bcs, NoTerminal(),
                            {"phi": phi_map, "T": T_map}, 1e-10, 1e-14, 30, {})
    result = newton.solve()
    newton.destroy()
    assert result.converged, result.reason
    hi = ufl.Measure("dx", domain=mesh, metadata={"quadrature_degree": 2 * degree + 6})
    error = lambda a, b: math.sqrt(compat.assemble_scalar(compat.create_form((a - b) ** 2 * r * hi), mesh.comm))  # noqa: E731
    return error(phi_h, phi_e), error(T_h, T_e)


@pytest.mark.parametrize("degree, minimum_rate", [(1, 1.9), (2, 2.9)])
def test_manufactured_solution_converges_at_the_optimal_rate(degree, minimum_rate):
    sizes = [4, 8, 16, 32] if degree == 2 else [8, 16, 32, 64]
    errors = np.array([l2_errors(n, degree) for n in sizes])
    rates = np.log(errors[:-1] / errors[1:]) / math.log(2.0)
    assert np.all(rates >= minimum_rate), f"rates phi, T per refinement: {rates.tolist()}"
    assert errors[-1, 1] < 1e-2 * 100  # T error below 1% of its 100 K variation on the finest mesh
