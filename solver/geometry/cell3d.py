"""The cell in 3D (geometry.kind: cell3d): the axisymmetric cell's stack as a cylinder of the
same radius, its filaments at geometry.filament_position (on the axis by default, where the
solve must reproduce the axisymmetric one; off it, it need not be a body of revolution).

Names: the same as the axisymmetric cell's (solver.geometry.cell): regions `<layer>` and
`<layer>_filament`; surfaces `bottom` (z = 0), `top`, `outer` (the cylinder's side), the
interfaces `<lower>__<upper>`, `<layer>_filament_wall`, `<layer>_filament_top`. There is no
axis. Probes are cylinders about the filament axis.
"""

from __future__ import annotations

import math

from solver.config.schema import Config
from solver.geometry.cell import CellModel, regions_of
from solver.geometry.solid import (
    PROBE,
    Cylinder,
    ProbeCylinder,
    add_cylinder,
    filament_cylinder,
    fragment,
    graded_sizes,
    mesh_3d,
    name_groups,
    probe_cylinder,
    refinement_boxes,
)
from solver.limits import check_solid_mesh_size

BOUNDARY_NAMES = ("bottom", "top", "outer")


def filaments(config: Config) -> list[Cylinder]:
    geo = config.geometry
    x, y = geo.filament_position
    return [filament_cylinder(layer, z0, x, y) for layer, z0 in zip(geo.layers, geo.z_bottoms())
            if layer.filament is not None]


def probes(config: Config) -> list[ProbeCylinder]:
    geo = config.geometry
    x, y = geo.filament_position
    bottoms = dict(zip((layer.name for layer in geo.layers), geo.z_bottoms()))
    return [probe_cylinder(probe, bottoms[probe.layer], x, y, name) for name, probe in config.probes.items()]


def generate(config: Config, gmsh) -> CellModel:
    """Build the cylinder stack, name its groups, grade and mesh it (the caller owns gmsh); a
    mesh estimated beyond solver.limits.MAX_CELLS is refused before gmsh starts."""
    geo = config.geometry
    refined = filaments(config) + [probe.shape for probe in probes(config)]
    check_solid_mesh_size(config, math.pi * geo.radius**2 * geo.height, refinement_boxes(refined))
    occ = gmsh.model.occ
    pieces = [(layer.name, occ.addCylinder(0, 0, z0, 0, 0, layer.thickness, geo.radius))
              for layer, z0 in zip(geo.layers, geo.z_bottoms())]
    filament_layers = [layer for layer in geo.layers if layer.filament is not None]
    pieces += [(f"{layer.name}_filament", add_cylinder(occ, shape))
               for layer, shape in zip(filament_layers, filaments(config))]
    pieces += [(PROBE + probe.name, add_cylinder(occ, probe.shape)) for probe in probes(config)]
    owner = fragment(gmsh, pieces)
    model = CellModel(regions_of(config))
    tol = 1e-6 * max(geo.radius, geo.height)

    def boundary_name(box: tuple, region: str) -> str:
        if abs(box[5]) < tol:
            return "bottom"
        if abs(box[2] - geo.height) < tol:
            return "top"
        return "outer"

    name_groups(gmsh, model, owner, boundary_name, BOUNDARY_NAMES)
    mesh = config.mesh
    graded_sizes(gmsh, refined, mesh.size, mesh.filament_size, mesh.refine_distance)
    mesh_3d(gmsh, mesh.order)
    return model
