"""Helpers for the solver tests: small configs, one-call solves."""

from __future__ import annotations

import copy

from solver.config import validate_config


def slab_config(layers: list[dict], materials: dict, *, radius: float = 0.2, size: float = 0.02,
                units: str = "um", top=None, bottom=None, outer="insulated", extra: dict | None = None) -> dict:
    """Raw config of a stack of slabs (no filament) with constant-property materials."""
    data = {
        "name": "verify",
        "units": units,
        "geometry": {"radius": radius, "layers": copy.deepcopy(layers)},
        "mesh": {"size": size, "filament_size": size, "refine_distance": size},
        "materials": copy.deepcopy(materials),
        "thermal": {"top": top or {"temperature": 300.0}, "bottom": bottom or {"temperature": 300.0},
                    "outer": outer},
    }
    data.update(extra or {})
    return data


def solve(raw: dict, drive: float):
    """(problem, QoI record) of a config at a drive, by continuation from rest (the study
    service, solver.fem.study)."""
    from solver.fem.study import SteadyStudy

    study = SteadyStudy(validate_config(raw))
    return study.problem, study.solve(drive)


def small_device(num: int = 11, **sweep) -> dict:
    """Raw config of a small default-like cell (fast to solve) with a voltage sweep."""
    return {
        "name": "sweeptest", "units": "nm",
        "geometry": {"radius": 60, "layers": [
            {"name": "bottom_electrode", "material": "TiN", "thickness": 20},
            {"name": "oxide", "material": "HfOx", "thickness": 5,
             "filament": {"material": "filament", "radius": 5, "top_radius": 3}},
            {"name": "cmo", "material": "TaOx", "thickness": 10},
            {"name": "top_electrode", "material": "TiN", "thickness": 20}]},
        "mesh": {"size": 6, "filament_size": 0.5, "refine_distance": 8},
        "probes": {"active": {"layer": "cmo", "r_max": 6, "z_min": 0, "z_max": 2}},
        "sweep": {"voltage": {"start": -1.0, "stop": 1.0, "num": num}, **sweep},
    }


class NoTerminal:
    """For problems with Dirichlet potential on every electrode: no terminal unknown (U = 0)."""

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
        import numpy as np

        return np.array([], dtype=np.int64)


def unit_square_l2_errors(n: int, degree: int, material, exact, source=None,
                          start_from_exact: bool = False) -> tuple[float, float]:
    """L2 errors (weighted by r) of (phi, T) solving the production residual on the unit square
    (r, z) in [0, 1]^2, n x n cells of P_degree, with (phi, T) = exact(x) on every side but the
    axis. `source(x, w, v, r, dx)` is the extra form subtracted from the residual (the
    manufactured source); it is built from the exact fields when None (the residual itself).
    Newton starts from T = 400 K, phi = 0 inside, or from the interpolated exact fields."""
    import math

    import numpy as np
    import ufl
    from mpi4py import MPI

    import dolfinx.fem
    import dolfinx.mesh
    from solver.fem import compat
    from solver.fem.forms import RegionLaws, residual
    from solver.fem.snes import BorderedNewton
    from solver.materials.laws import MaterialLaws

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
    dx = ufl.Measure("dx", domain=mesh, metadata={"quadrature_degree": 2 * degree + 1})
    ds = ufl.Measure("ds", domain=mesh)
    regions = [RegionLaws(0, MaterialLaws(material, mesh))]
    whole = lambda tag: dx  # noqa: E731 (one region: the whole mesh)
    F = residual(regions, phi_h, T_h, w, v, r, whole, [], ds)
    if source is None:
        F = F - residual(regions, phi_e, T_e, w, v, r, whole, [], ds)
    else:
        F = F - source(x, w, v, r, dx)
    J = ufl.derivative(F, u, ufl.TrialFunction(W))

    fdim = mesh.topology.dim - 1
    # every side but the axis (a facet is picked when all its vertices are on the side, so the
    # bottom and top facets at the axis corner are included and the axis facets are not)
    on_side = lambda p: np.isclose(p[1], 0.0) | np.isclose(p[1], 1.0) | np.isclose(p[0], 1.0)  # noqa: E731
    facets = dolfinx.mesh.locate_entities_boundary(mesh, fdim, on_side)
    g_phi, g_T = dolfinx.fem.Function(V_phi), dolfinx.fem.Function(V_T)
    compat.interpolate_expression(g_phi, phi_e)
    compat.interpolate_expression(g_T, T_e)
    bcs = [compat.dirichletbc(g_phi, compat.locate_dofs_topological((W.sub(0), V_phi), fdim, facets), W.sub(0)),
           compat.dirichletbc(g_T, compat.locate_dofs_topological((W.sub(1), V_T), fdim, facets), W.sub(1))]
    if start_from_exact:
        u.x.array[phi_map], u.x.array[T_map] = g_phi.x.array, g_T.x.array
    else:
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

    def error(a, b):
        return math.sqrt(compat.assemble_scalar(compat.create_form((a - b) ** 2 * r * hi), mesh.comm))

    return error(phi_h, phi_e), error(T_h, T_e)
