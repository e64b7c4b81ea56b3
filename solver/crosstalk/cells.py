"""Per-cell quantities of a solved tile: the power dissipated in each cell's pillar.

P_ij = integral over pillar (i, j) of -J . grad(phi) [W]: the electrical work done on the
charge carriers there (Joule heat, and the Thomson and Peltier heat, which the heat equation's
source -J . grad(phi) carries with it; docs/physics.md). It is assembled exactly (the same
quadrature as the residual) as a vector over the cells of a piecewise-constant space, each
entry the integral over one mesh cell, then summed over the pillar's cells.
"""

from __future__ import annotations

import numpy as np
import ufl
from mpi4py import MPI

from solver.fem import compat
from solver.fem.forms import current_density
from solver.fem.problem import ElectroThermalProblem
from solver.geometry.tile import pillar_boxes


def pillar_cells(problem: ElectroThermalProblem) -> dict[tuple[int, int], np.ndarray]:
    """(row, col) -> local owned mesh cells inside that cell's pillar (its faces are planes
    of the mesh, so midpoints decide exactly)."""
    config = problem.config
    mesh = problem.cell_mesh.mesh
    owned = mesh.topology.index_map(mesh.topology.dim).size_local
    midpoints = compat.cell_vertex_coordinates(mesh)[:owned].mean(axis=1) / config.length_scale
    x, y, z = midpoints[:, 0], midpoints[:, 1], midpoints[:, 2]
    out = {}
    for i, j, (x0, x1, y0, y1, z0, z1) in pillar_boxes(config):
        inside = (x > x0) & (x < x1) & (y > y0) & (y < y1) & (z > z0) & (z < z1)
        out[(i, j)] = np.flatnonzero(inside).astype(np.int32)
    return out


class CellPower:
    """The power dissipated in every pillar of a tile problem, at its current state."""

    def __init__(self, problem: ElectroThermalProblem):
        self.problem = problem
        mesh = problem.cell_mesh.mesh
        self.space = compat.dg0_space(mesh)
        v = ufl.TestFunction(self.space)
        density = 0
        for region in problem.region_laws:
            J = current_density(region.laws, problem.phi, problem.T)
            density += -ufl.inner(J, ufl.grad(problem.phi)) * v * problem.weight * problem.dx(region.tag)
        self.form = compat.create_form(density)
        self.vector = compat.create_vector(self.form)
        self.cells = pillar_cells(problem)
        self.cell_dofs = compat.cell_dofs(self.space)[:, 0]

    def evaluate(self) -> dict[tuple[int, int], float]:
        """(row, col) -> P [W]."""
        compat.assemble_vector_into(self.vector, self.form)
        per_cell = self.vector.getArray(readonly=True)
        comm = self.problem.comm
        local = np.array([per_cell[self.cell_dofs[cells]].sum() for cells in self.cells.values()])
        total = np.empty_like(local)
        comm.Allreduce(local, total, op=MPI.SUM)
        return {key: float(value) for key, value in zip(self.cells, total)}
