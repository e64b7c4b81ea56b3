"""A voltage sweep the way a FEniCSx user would write it with stock DOLFINx (the benchmark's peer).

scripts/bench.py times it beside `filatherm sweep` (section `peer`). Both use the same mesh
(solver.fem.mesh.build_mesh), the same weak form (solver.fem.forms.residual, region by region,
same quadrature degree) and the same linear solver (MUMPS LU). What the peer leaves out is what
filatherm adds around Newton:
  - the top voltage is a Dirichlet condition on phi (filatherm: a terminal unknown U solved
    together with the field);
  - DOLFINx's NewtonSolver: full Newton steps (it has no line search), converged when the
    2-norm of the update falls below rtol times that of the first update or below atol
    (filatherm: SNES with a backtracking line search, converged per field in physical units);
  - each point starts from the previous converged solution (filatherm: a secant predictor from
    the last two, step cutting on failure, a linear-response solve to leave rest).
A point the stock solver does not converge at is recorded as failed and the next point starts
from the last converged solution, as a user's `try: solver.solve(u) except RuntimeError` would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import ufl

import dolfinx.fem
from solver.config.schema import Config, Convective, FixedTemperature, VoltageTerminal
from solver.errors import InputError
from solver.fem import compat
from solver.fem.forms import RegionLaws, current_density, residual
from solver.fem.mesh import CellMesh
from solver.materials.laws import MaterialLaws


@dataclass
class StockPoint:
    voltage: float  # V
    converged: bool
    iterations: int  # Newton iterations; max_it when DOLFINx raised (it does not say where it stopped)
    current: float  # A into the top electrode; NaN when not converged
    T_max: float  # K, the largest temperature dof; NaN when not converged
    reason: str = ""  # why it failed (DOLFINx's message)


def polarity_branches(voltages) -> list[list[float]]:
    """Voltages >= 0 and < 0, each ordered by increasing |V| (the order filatherm's sweep
    continues them in, see solver.sweep.plan.branches); empty branches are left out."""
    positive = sorted((v for v in voltages if v >= 0), key=abs)
    negative = sorted((v for v in voltages if v < 0), key=abs)
    return [branch for branch in (positive, negative) if branch]


class StockSweep:
    """The coupled problem in (phi, T) with phi = V on the top electrode, and DOLFINx's Newton."""

    def __init__(self, config: Config, cell_mesh: CellMesh):
        top = config.electrical.top
        if not isinstance(top, VoltageTerminal) or top.series_resistance > 0:
            raise InputError("stock peer: needs a voltage terminal without series resistance")
        self.config = config
        mesh = cell_mesh.mesh
        self.comm = mesh.comm
        degree = config.solver.degree
        self.W = compat.lagrange_space(mesh, degree, components=2)
        V_phi, _ = compat.collapse(self.W.sub(0))
        V_T, self.T_map = compat.collapse(self.W.sub(1))
        self.u = dolfinx.fem.Function(self.W)
        phi, T = ufl.split(self.u)
        w, v = ufl.TestFunctions(self.W)

        fdim = mesh.topology.dim - 1
        mesh.topology.create_connectivity(fdim, mesh.topology.dim)
        self.top_voltage = dolfinx.fem.Function(V_phi)
        ground = dolfinx.fem.Function(V_phi)
        self.T_boundary = dolfinx.fem.Function(V_T)
        self.bcs = []
        for name, value in (("top", self.top_voltage), ("bottom", ground)):
            dofs = compat.locate_dofs_topological((self.W.sub(0), V_phi), fdim, cell_mesh.facets(name))
            self.bcs.append(compat.dirichletbc(value, dofs, self.W.sub(0)))
        thermal = config.thermal
        robin = []
        for name, bc in (("top", thermal.top), ("bottom", thermal.bottom), ("outer", thermal.outer)):
            if isinstance(bc, FixedTemperature):
                dofs = compat.locate_dofs_topological((self.W.sub(1), V_T), fdim, cell_mesh.facets(name))
                self.T_boundary.x.array[dofs[1]] = bc.temperature
                self.bcs.append(compat.dirichletbc(self.T_boundary, dofs, self.W.sub(1)))
            elif isinstance(bc, Convective):
                robin.append((cell_mesh.facet_tag(name), bc.h, bc.ambient))

        q = 2 * degree + 1  # as solver.fem.problem
        r = ufl.SpatialCoordinate(mesh)[0]
        dx = ufl.Measure("dx", domain=mesh, subdomain_data=cell_mesh.cell_tags,
                         metadata={"quadrature_degree": q})
        ds = ufl.Measure("ds", domain=mesh, subdomain_data=cell_mesh.facet_tags,
                         metadata={"quadrature_degree": q})
        state = config.state.value if config.state is not None else None
        regions = [RegionLaws(cell_mesh.cell_tag(region.name),
                              MaterialLaws(config.materials[region.material], mesh, state))
                   for region in cell_mesh.regions]
        F = residual(regions, phi, T, w, v, r, dx, robin, ds)
        # The current into the cell through the top electrode's surface, -2 pi int J.n r ds,
        # with J of the top layer's material (the region under the top facets).
        top_layer = max(region.layer_index for region in cell_mesh.regions)
        under_top = [laws for laws, region in zip(regions, cell_mesh.regions)
                     if region.layer_index == top_layer]
        if len(under_top) != 1:
            raise InputError("stock peer: needs a top layer without a filament")
        top_laws = under_top[0].laws
        n = ufl.FacetNormal(mesh)
        J_top = current_density(top_laws, phi, T)
        self.current_form = compat.create_form(
            -2 * math.pi * ufl.inner(J_top, n) * r * ds(cell_mesh.facet_tag("top")))

        self.problem, self.solver = compat.stock_newton_solver(F, self.u, self.bcs, self.comm)
        # The criterion DOLFINx's nonlinear demos use (incremental) with the config's tolerances:
        # the stock solution then matches filatherm's to ~1e-9 K in T_max (the benchmark's
        # `agreement`), so neither side is solved more loosely than the other.
        newton = config.solver.newton
        self.solver.convergence_criterion = "incremental"
        self.solver.rtol = newton.rtol
        self.solver.atol = newton.atol
        self.solver.max_it = newton.max_it
        ksp = self.solver.krylov_solver
        ksp.setType("preonly")
        ksp.getPC().setType("lu")
        ksp.getPC().setFactorSolverType("mumps")

    def rest(self) -> None:
        """phi = 0, T = the initial temperature, Dirichlet values applied."""
        self.top_voltage.x.array[:] = 0.0
        self.u.x.array[:] = 0.0
        self.u.x.array[self.T_map] = self.config.thermal.initial_temperature
        compat.set_bc(compat.petsc_vector(self.u), self.bcs)
        compat.scatter_forward(self.u)

    def solve(self, voltage: float) -> StockPoint:
        """Newton at `voltage` from the current solution; on failure the solution is put back."""
        before = self.u.x.array.copy()
        self.top_voltage.x.array[:] = voltage
        try:
            iterations, converged = self.solver.solve(self.u)
            reason = "" if converged else "not converged"
        except RuntimeError as err:  # DOLFINx raises when Newton does not converge
            iterations, converged, reason = self.solver.max_it, False, str(err)
        if not converged:
            self.u.x.array[:] = before
            return StockPoint(voltage, False, int(iterations), math.nan, math.nan, reason)
        return StockPoint(voltage, True, int(iterations),
                          compat.assemble_scalar(self.current_form, self.comm), self._T_max())

    def sweep(self, voltages) -> list[StockPoint]:
        """Each polarity from rest, in increasing |V|, every point from the last converged one."""
        points = []
        for branch in polarity_branches(voltages):
            self.rest()
            points += [self.solve(voltage) for voltage in branch]
        return points

    @property
    def dofs(self) -> int:
        return self.W.dofmap.index_map.size_global * self.W.dofmap.index_map_bs

    def _T_max(self) -> float:
        from mpi4py import MPI

        owned = self.T_map[self.T_map < self.W.dofmap.index_map.size_local]
        local = self.u.x.array[owned].max(initial=-np.inf)
        return float(self.comm.allreduce(local, op=MPI.MAX))
