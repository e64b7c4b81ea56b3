"""What the 3D models (solver.geometry.cell3d, solver.geometry.tile) share: fragmenting OCC
solids into conforming regions, naming the surfaces, grading the mesh from the filaments, and
the probe cylinders around each filament's axis.

A model is a list of pieces (OCC solids) in increasing priority: after fragmenting, a volume
belongs to the region of the last piece that contains it (a filament wins over its layer, a
line or pillar over the fill around it). Probe pieces only cut the geometry, so that a probe's
cells are exactly its cylinder. Surfaces between two regions are named like the 2D cell's
curves (solver.geometry.cell): `<lower>__<upper>` (regions in model order), a filament's
`<layer>_filament_wall` and `<layer>_filament_top`; surfaces on the outside are named by the
model (`bottom`, `top`, `outer`, a tile's line ends).

Everything is built in the config's length unit (OCC's tolerances break at 1e-9 scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from solver.errors import FilathermError, InputError
from solver.geometry.cell import CellModel

PROBE = "probe:"


@dataclass(frozen=True)
class Cylinder:
    """A solid of revolution about a vertical axis at (x, y): radius r0 at z0, r1 at z1
    (a cone when they differ), hollow inside r_inner (config units)."""

    x: float
    y: float
    z0: float
    z1: float
    r0: float
    r1: float
    r_inner: float = 0.0

    @property
    def r_max(self) -> float:
        return max(self.r0, self.r1)


@dataclass(frozen=True)
class ProbeCylinder:
    """A probe: the cells inside this hollow cylinder (config units)."""

    name: str
    shape: Cylinder


def add_cylinder(occ, shape: Cylinder) -> int:
    """The OCC solid of a Cylinder."""
    height = shape.z1 - shape.z0
    if shape.r0 == shape.r1:
        tag = occ.addCylinder(shape.x, shape.y, shape.z0, 0, 0, height, shape.r0)
    else:
        tag = occ.addCone(shape.x, shape.y, shape.z0, 0, 0, height, shape.r0, shape.r1)
    if shape.r_inner > 0:
        inner = occ.addCylinder(shape.x, shape.y, shape.z0, 0, 0, height, shape.r_inner)
        (_, tag), = occ.cut([(3, tag)], [(3, inner)])[0]
    return tag


def fragment(gmsh, pieces: list[tuple[str, int]]) -> dict[int, str]:
    """Fragment the pieces (what, OCC volume tag), given in increasing priority; the region
    name of every resulting volume (probe pieces only cut)."""
    occ = gmsh.model.occ
    try:
        if len(pieces) > 1:
            _, fragment_map = occ.fragment([(3, tag) for _, tag in pieces], [])
        else:
            fragment_map = [[(3, pieces[0][1])]]
        occ.synchronize()
    except Exception as err:  # gmsh raises plain Exception with its own message
        raise InputError(f"gmsh failed while fragmenting the 3D model: {err}") from None
    owner: dict[int, str] = {}
    for (what, _), outputs in zip(pieces, fragment_map):
        if what.startswith(PROBE):
            continue
        for dim, tag in outputs:
            if dim == 3:
                owner[tag] = what
    return owner


def name_groups(gmsh, model: CellModel, owner: dict[int, str], boundary_name: Callable[[tuple, str], str],
                boundary_order: tuple[str, ...]) -> None:
    """Physical groups of the fragmented model: one per region (volumes), one per named
    surface group. `boundary_name(bounding box, region)` names an outside surface."""
    regions = model.regions
    for region in regions:
        if not any(name == region.name for name in owner.values()):
            raise InputError(f"geometry: region {region.name} is empty after fragmenting")
    for tag_number, region in enumerate(regions, start=1):
        volumes = sorted(tag for tag, name in owner.items() if name == region.name)
        gmsh.model.addPhysicalGroup(3, volumes, tag_number)
        gmsh.model.setPhysicalName(3, tag_number, region.name)
        model.cell_tags[region.name] = tag_number

    order = {region.name: k for k, region in enumerate(regions)}
    filaments = {region.name for region in regions if region.is_filament}
    layer_of = {region.name: region.layer_index for region in regions}
    groups: dict[str, tuple[float, set[int]]] = {}

    def add(name: str, z: float, tag: int) -> None:
        z_min, tags = groups.get(name, (z, set()))
        tags.add(tag)
        groups[name] = (min(z_min, z), tags)

    tol = 1e-6 * max(_model_size(gmsh), 1e-30)
    for _, surface in gmsh.model.getEntities(2):
        box = gmsh.model.getBoundingBox(2, surface)
        upward, _ = gmsh.model.getAdjacencies(2, surface)
        names = [owner[v] for v in upward if v in owner]
        z_mid = 0.5 * (box[2] + box[5])
        if len(names) == 1:
            add(boundary_name(box, names[0]), z_mid, surface)
            continue
        if len(names) != 2 or names[0] == names[1]:
            continue  # a probe cut inside one region: not an interface
        a, b = sorted(names, key=order.__getitem__)
        if (a in filaments) != (b in filaments) and layer_of[a] == layer_of[b]:
            filament = a if a in filaments else b
            flat = abs(box[5] - box[2]) < tol
            add(f"{filament}_{'top' if flat else 'wall'}", z_mid, surface)
        else:
            add(f"{a}__{b}", z_mid, surface)
    ordered = [n for n in boundary_order if n in groups]
    ordered += sorted((n for n in groups if n not in boundary_order), key=lambda n: (groups[n][0], n))
    for tag_number, name in enumerate(ordered, start=1):
        gmsh.model.addPhysicalGroup(2, sorted(groups[name][1]), tag_number)
        gmsh.model.setPhysicalName(2, tag_number, name)
        model.facet_tags[name] = tag_number


def _model_size(gmsh) -> float:
    x0, y0, z0, x1, y1, z1 = gmsh.model.getBoundingBox(-1, -1)
    return max(x1 - x0, y1 - y0, z1 - z0)


def graded_sizes(gmsh, filaments: list[Cylinder], size: float, filament_size: float,
                 refine_distance: float) -> None:
    """Element size `filament_size` inside the bounding box of every filament (and probe: the
    cylinders given), growing linearly with the distance from it to `size` at refine_distance
    (gmsh Box fields with a transition layer: evaluated natively, where an interpreted
    distance expression per cylinder made meshing a tile several times slower)."""
    field_api = gmsh.model.mesh.field
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    if not filaments:
        gmsh.option.setNumber("Mesh.MeshSizeMin", size)
        return
    fields = []
    for f in filaments:
        box = field_api.add("Box")
        for key, value in (("VIn", filament_size), ("VOut", size), ("XMin", f.x - f.r_max), ("XMax", f.x + f.r_max),
                           ("YMin", f.y - f.r_max), ("YMax", f.y + f.r_max), ("ZMin", f.z0), ("ZMax", f.z1),
                           ("Thickness", refine_distance)):
            field_api.setNumber(box, key, value)
        fields.append(box)
    smallest = field_api.add("Min")
    field_api.setNumbers(smallest, "FieldsList", fields)
    field_api.setAsBackgroundMesh(smallest)


def refinement_boxes(cylinders: list[Cylinder]) -> list[tuple[float, ...]]:
    """The boxes graded_sizes refines (x0, x1, y0, y1, z0, z1), for solver.limits."""
    return [(f.x - f.r_max, f.x + f.r_max, f.y - f.r_max, f.y + f.r_max, f.z0, f.z1) for f in cylinders]


def mesh_3d(gmsh, order: int) -> None:
    """Tetrahedra (optionally second order)."""
    try:
        gmsh.option.setNumber("Mesh.Algorithm3D", 1)  # Delaunay
        gmsh.model.mesh.generate(3)
        if order == 2:
            gmsh.model.mesh.setOrder(2)
    except Exception as err:
        raise FilathermError(f"gmsh failed while meshing: {err}") from None


def probe_cylinder(probe, layer_bottom: float, x: float, y: float, name: Optional[str] = None) -> ProbeCylinder:
    """The probe of a config (r_min, r_max, z_min, z_max above its layer's bottom) as a
    cylinder about the filament axis at (x, y)."""
    shape = Cylinder(x, y, layer_bottom + probe.z_min, layer_bottom + probe.z_max, probe.r_max, probe.r_max,
                     probe.r_min)
    return ProbeCylinder(name, shape)


def filament_cylinder(layer, z0: float, x: float, y: float) -> Cylinder:
    """A layer's filament (cylinder or truncated cone, optionally shorter than the layer)."""
    fil = layer.filament
    top_radius = fil.top_radius if fil.top_radius is not None else fil.radius
    height = fil.height if fil.height is not None else layer.thickness
    return Cylinder(x, y, z0, z0 + height, fil.radius, top_radius)
