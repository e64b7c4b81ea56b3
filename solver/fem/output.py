"""Fields for ParaView: fields.xdmf with phi [V], T [K], |J| [A/m^2] and Joule heat [W/m^3].

phi and T are written as Lagrange functions of the mesh's own degree (XDMF cannot hold a
higher degree: DOLFINx 0.9+ refuses, 0.5 silently drops dofs); |J| and the Joule density
jump across material interfaces and are written per cell.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import dolfinx.fem
from solver.fem import compat
from solver.fem.forms import current_density, joule_heat_density
from solver.fem.problem import ElectroThermalProblem
from solver.errors import FilathermError
from solver.io import StagedFiles


class FieldWriter:
    """Writes snapshots of a problem's fields into one XDMF file (several times allowed)."""

    def __init__(self, problem: ElectroThermalProblem, path: Path, snapshots: int = 1):
        import ufl
        from dolfinx.io import XDMFFile

        self.problem = problem
        mesh = problem.cell_mesh.mesh
        degree = compat.geometry_degree(mesh)
        space = compat.lagrange_space(mesh, degree)
        cells = compat.dg0_space(mesh)
        self.phi = dolfinx.fem.Function(space, name="phi")
        self.T = dolfinx.fem.Function(space, name="T")
        self.J = dolfinx.fem.Function(cells, name="current_density")
        self.joule = dolfinx.fem.Function(cells, name="joule_heat")
        self._per_region = []
        for region in problem.region_laws:
            region_cells = problem.cell_mesh.cell_tags.find(region.tag)
            J = current_density(region.laws, problem.phi, problem.T)
            self._per_region.append(
                (region_cells, ufl.sqrt(ufl.inner(J, J)), joule_heat_density(region.laws, problem.phi, problem.T)))
        self.path = Path(path)
        self.staged = StagedFiles(self.path.parent, mesh.comm)  # fields.xdmf + fields.h5 appear together
        self._check_space(snapshots)
        with self._hdf5_errors():
            self.file = XDMFFile(mesh.comm, str(self.staged.path(self.path.name)), "w")
            self.file.write_mesh(mesh)

    def _check_space(self, snapshots: int) -> None:
        """Refuse up front when the disk cannot hold the file: HDF5 failing half-way through a
        write aborts the whole process in DOLFINx 0.11 instead of raising."""
        nodes = self.phi.function_space.dofmap.index_map.size_global
        cells = self.J.function_space.dofmap.index_map.size_global
        mesh_bytes = nodes * 3 * 8 + cells * 6 * 8
        needed = 1.2 * (mesh_bytes + snapshots * (2 * nodes + 2 * cells) * 8) + 65536
        free = shutil.disk_usage(self.staged.staging).free if self.problem.comm.rank == 0 else None
        free = self.problem.comm.bcast(free, root=0)
        if free < needed:
            self.staged.discard()
            raise FilathermError(f"{self.path}: cannot write: about {needed / 1e6:.1f} MB needed, "
                                 f"{free / 1e6:.1f} MB free on the disk")

    @contextmanager
    def _hdf5_errors(self):
        """HDF5 failures (disk full, I/O errors) reach Python as RuntimeError: name the file,
        and drop the half-written set (earlier fields, if any, stay in place)."""
        try:
            yield
        except RuntimeError as err:
            self.staged.discard()
            raise FilathermError(f"{self.path}: cannot write ({err}; is the disk full?)") from None

    def write(self, time: float = 0.0) -> None:
        p = self.problem
        compat.interpolate_expression(self.phi, p.phi)
        compat.interpolate_expression(self.T, p.T)
        for cells, J_magnitude, joule in self._per_region:
            compat.interpolate_expression(self.J, J_magnitude, cells)
            compat.interpolate_expression(self.joule, joule, cells)
        with self._hdf5_errors():
            for function in (self.phi, self.T, self.J, self.joule):
                self.file.write_function(function, time)

    def close(self) -> None:
        with self._hdf5_errors():
            self.file.close()
        self.staged.commit()

    def discard(self) -> None:
        """Drop a half-written file set (the previous fields, if any, stay in place)."""
        self.staged.discard()


def write_fields(problem: ElectroThermalProblem, path: Path) -> Path:
    writer = FieldWriter(problem, path)
    try:
        writer.write(0.0)
        writer.close()
    except Exception:
        writer.discard()
        raise
    return path


def temperature_snapshot(problem: ElectroThermalProblem) -> dict:
    """T on the mesh's triangles (serial, 2D meshes), lengths in the config's units, for
    report figures; `axes` names the two coordinates."""
    if problem.comm.size > 1:
        raise ValueError("temperature snapshots are taken from serial solves")
    if problem.coordinates.gdim != 2:
        raise ValueError("temperature snapshots are drawn from 2D meshes")
    points = problem.V_T.tabulate_dof_coordinates()[:, :2] / problem.cell_mesh.length_scale
    triangles = compat.cell_dofs(problem.V_T)[:, :3]  # Lagrange: the vertex dofs come first
    return {"points": points, "triangles": triangles, "T": problem.u.x.array[problem.T_map].copy()}
