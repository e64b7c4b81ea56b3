"""The cell mesh in DOLFINx: Gmsh on rank 0, distributed on a communicator, scaled to metres.

:class:`CellMesh` carries the mesh, its cell and facet tags, the name -> tag maps, the regions
(with their materials) and each probe's local cells. Code looks groups up by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
from mpi4py import MPI

from solver.config.schema import Config
from solver.errors import FilathermError, InputError
from solver.fem import compat
from solver.fem.coordinates import coordinate_system
from solver.geometry.cell import CellModel, Region, triangles_by_region
from solver.geometry.kinds import generate, probe_cylinders
from solver.geometry.session import keep_sigint


@dataclass
class CellMesh:
    mesh: object
    cell_tags: object
    facet_tags: object
    cell_names: dict[str, int]
    facet_names: dict[str, int]
    regions: list[Region]
    probe_cells: dict[str, np.ndarray] = field(default_factory=dict)
    length_scale: float = 1.0
    plot_data: Optional[tuple] = None  # rank 0 only: (points, triangles, region index)

    @property
    def comm(self):
        return self.mesh.comm

    def cell_tag(self, name: str) -> int:
        try:
            return self.cell_names[name]
        except KeyError:
            raise FilathermError(f"mesh has no cell group {name!r}") from None

    def facet_tag(self, name: str) -> int:
        try:
            return self.facet_names[name]
        except KeyError:
            raise FilathermError(f"mesh has no facet group {name!r}") from None

    def facets(self, name: str) -> np.ndarray:
        """Local facet indices of a named facet group."""
        return self.facet_tags.indices[self.facet_tags.values == self.facet_tag(name)]

    def num_cells_global(self) -> int:
        return self.mesh.topology.index_map(self.mesh.topology.dim).size_global

    def num_vertices_global(self) -> int:
        return self.mesh.topology.index_map(0).size_global


def build_mesh(config: Config, comm=MPI.COMM_WORLD, msh_path: Optional[Path] = None,
               keep_plot_data: bool = False, verbose: bool = False) -> CellMesh:
    """Mesh the config's cell with Gmsh on rank 0 of `comm` and distribute it over `comm`."""
    with keep_sigint():
        return _build_mesh(config, comm, msh_path, keep_plot_data, verbose)


def _build_mesh(config: Config, comm, msh_path: Optional[Path], keep_plot_data: bool,
                verbose: bool) -> CellMesh:
    import gmsh

    model: Optional[CellModel] = None
    error: Optional[Exception] = None
    plot_data = None
    root = comm.rank == 0
    if root:
        gmsh.initialize([], readConfigFiles=False)
        gmsh.option.setNumber("General.Terminal", 1 if verbose else 0)
        gmsh.model.add(config.name)
        try:
            model = generate(config, gmsh)
            if keep_plot_data and not config.geometry.is_3d:
                plot_data = triangles_by_region(gmsh, model)
            if msh_path is not None:
                _write_msh(gmsh, msh_path, config.length_scale)
        except (InputError, FilathermError) as err:
            error = err
    error = comm.bcast(error, root=0)
    if error is not None:
        if root:
            gmsh.finalize()
        raise error
    model = comm.bcast(model, root=0)
    try:
        mesh, cell_tags, facet_tags = compat.model_to_mesh(gmsh.model, comm, 0,
                                                           gdim=coordinate_system(config).gdim)
    finally:
        if root:
            gmsh.finalize()
    mesh.geometry.x[:] *= config.length_scale  # built in config units, solved in metres
    cell_mesh = CellMesh(mesh, cell_tags, facet_tags, model.cell_tags, model.facet_tags,
                         model.regions, length_scale=config.length_scale, plot_data=plot_data)
    cell_mesh.probe_cells = _probe_cells(config, mesh)
    return cell_mesh


def _write_msh(gmsh, path: Path, length_scale: float) -> None:
    """The .msh file in metres (Mesh.ScalingFactor applies on save only)."""
    from solver.io import atomic_path

    with atomic_path(path) as tmp:
        gmsh.option.setNumber("Mesh.ScalingFactor", length_scale)
        gmsh.write(str(tmp.with_suffix(".msh")))
        gmsh.option.setNumber("Mesh.ScalingFactor", 1.0)
        tmp.with_suffix(".msh").replace(tmp)


def _probe_cells(config: Config, mesh) -> dict[str, np.ndarray]:
    """Local cells inside each probe box (its edges are meshed, so midpoints decide exactly)."""
    if not config.probes:
        return {}
    if config.geometry.is_3d:
        return _probe_cells_3d(config, mesh)
    midpoints = compat.cell_vertex_coordinates(mesh).mean(axis=1) / config.length_scale
    z_bottoms = dict(zip((layer.name for layer in config.geometry.layers),
                         config.geometry.z_bottoms()))
    out = {}
    for name, probe in config.probes.items():
        z0 = z_bottoms[probe.layer]
        r, z = midpoints[:, 0], midpoints[:, 1] - z0
        inside = (r > probe.r_min) & (r < probe.r_max) & (z > probe.z_min) & (z < probe.z_max)
        out[name] = np.flatnonzero(inside).astype(np.int32)
    return out


def _probe_cells_3d(config: Config, mesh) -> dict[str, np.ndarray]:
    """Local cells inside each probe cylinder. Its faces are meshed, but a curved face only as
    a polyhedron whose vertices lie on it: a cell inside has every vertex within the closed
    cylinder, while a cell outside has at least one vertex off it (a midpoint test would
    misplace cells in the slivers between the polyhedron and the cylinder)."""
    corners = compat.cell_vertex_coordinates(mesh) / config.length_scale
    tol = 1e-6 * max(config.geometry.scale_lengths())
    out = {}
    for probe in probe_cylinders(config):
        shape = probe.shape
        rho = np.hypot(corners[:, :, 0] - shape.x, corners[:, :, 1] - shape.y)
        z = corners[:, :, 2]
        inside = ((rho <= shape.r_max + tol) & (rho >= shape.r_inner - tol)
                  & (z >= shape.z0 - tol) & (z <= shape.z1 + tol)).all(axis=1)
        out[probe.name] = np.flatnonzero(inside).astype(np.int32)
    return out


def mesh_summary(cell_mesh: CellMesh, config: Config) -> dict:
    """Cells, vertices, element sizes and the volume of each region (and, in 2D, the area of its
    meshed section), in config units."""
    import ufl

    mesh = cell_mesh.mesh
    comm = mesh.comm
    coordinates = coordinate_system(config)
    corners = compat.cell_vertex_coordinates(mesh)[:, :, :coordinates.gdim]
    edges = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2).max(axis=1)
    h_min = comm.allreduce(edges.min() if len(edges) else np.inf, op=MPI.MIN)
    h_max = comm.allreduce(edges.max() if len(edges) else 0.0, op=MPI.MAX)
    dx = ufl.Measure("dx", domain=mesh, subdomain_data=cell_mesh.cell_tags)
    volume_weight = coordinates.volume_weight(mesh)
    scale = config.length_scale
    regions = {}
    for region in cell_mesh.regions:
        tag = cell_mesh.cell_tag(region.name)
        entry = {"material": region.material}
        if coordinates.gdim == 2:  # the meshed section of a body of revolution
            entry["area"] = _integrate(1.0 * dx(tag), mesh) / scale**2
        entry["volume"] = _integrate(volume_weight * dx(tag), mesh) / scale**3
        regions[region.name] = entry
    return {
        "cells": cell_mesh.num_cells_global(),
        "vertices": cell_mesh.num_vertices_global(),
        "h_min": h_min / scale,
        "h_max": h_max / scale,
        "units": config.units,
        "regions": regions,
        "cell_groups": cell_mesh.cell_names,
        "facet_groups": cell_mesh.facet_names,
    }


def _integrate(integrand, mesh) -> float:
    import dolfinx.fem

    value = dolfinx.fem.assemble_scalar(compat.create_form(integrand))
    return mesh.comm.allreduce(value, op=MPI.SUM)


def write_mesh_files(cell_mesh: CellMesh, xdmf_path: Path, summary: dict) -> None:
    """meshes/<name>.xdmf (+ .h5) with cell and facet tags, and <name>.json with names/summary."""
    from dolfinx.io import XDMFFile

    from solver.io import StagedFiles, write_json_atomic

    comm = cell_mesh.comm
    cell_mesh.cell_tags.name = "cell_tags"
    cell_mesh.facet_tags.name = "facet_tags"
    mesh = cell_mesh.mesh
    mesh.topology.create_connectivity(mesh.topology.dim - 1, mesh.topology.dim)
    staged = StagedFiles(xdmf_path.parent, comm)  # the .xdmf names its .h5: move them together
    with XDMFFile(comm, str(staged.path(xdmf_path.name)), "w") as xdmf:
        compat.write_mesh_with_tags(xdmf, mesh, [cell_mesh.cell_tags, cell_mesh.facet_tags])
    staged.commit()
    if comm.rank == 0:
        write_json_atomic(xdmf_path.with_suffix(".json"), summary)
