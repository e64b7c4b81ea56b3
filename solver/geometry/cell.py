"""The axisymmetric (r, z) cell as a Gmsh OpenCASCADE model, with named physical groups.

The half-plane 0 <= r <= radius is a stack of layer rectangles (bottom to top); a layer may
hold a filament on the axis: a cylinder or a truncated cone, optionally shorter than the layer
(the gap model). Probe boxes are cut into the geometry too, so that a probe's cells are exactly
its region. Everything is fragmented together, so every interface is conforming.

Geometry is built in the config's length unit: OCC's tolerances break at 1e-9 scale. The caller
scales coordinates to metres once (see solver.fem.mesh).

Names (stable; code and tests look groups up by name):
  cells:  one group per layer (`<layer>`) and per filament (`<layer>_filament`);
  facets: `bottom`, `top`, `outer`, `axis`; horizontal interfaces `<lower>__<upper>` between
          regions; a filament's side wall `<layer>_filament_wall` and, with a gap, its top
          `<layer>_filament_top`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from solver.config.schema import Config, Layer
from solver.errors import FilathermError, InputError
from solver.limits import check_mesh_size

BOUNDARY_NAMES = ("bottom", "top", "outer", "axis")


@dataclass(frozen=True)
class Region:
    """A cell region: a layer (outside its filament) or a layer's filament."""

    name: str
    layer_index: int
    material: str
    is_filament: bool


@dataclass
class CellModel:
    """What the Gmsh model holds, in names: regions and facet groups with their tags."""

    regions: list[Region]
    cell_tags: dict[str, int] = field(default_factory=dict)
    facet_tags: dict[str, int] = field(default_factory=dict)


def regions_of(config: Config) -> list[Region]:
    out = []
    for i, layer in enumerate(config.geometry.layers):
        out.append(Region(layer.name, i, layer.material, False))
        if layer.filament is not None:
            out.append(Region(f"{layer.name}_filament", i, layer.filament.material, True))
    return out


def filament_outline(layer: Layer, z0: float) -> list[tuple[float, float]]:
    """Corner points (r, z) of a layer's filament, counter-clockwise, in config units."""
    fil = layer.filament
    assert fil is not None
    top_radius = fil.top_radius if fil.top_radius is not None else fil.radius
    height = fil.height if fil.height is not None else layer.thickness
    return [(0.0, z0), (fil.radius, z0), (top_radius, z0 + height), (0.0, z0 + height)]


def build_cell_model(config: Config, gmsh) -> CellModel:
    """Build the fragmented geometry, physical groups and size fields in the current model.

    `gmsh` is the initialised gmsh module (the caller owns initialize/finalize and runs this
    on one rank only).
    """
    occ = gmsh.model.occ
    geo = config.geometry
    z_bottoms = geo.z_bottoms()
    pieces: list[tuple[str, int]] = []  # (what, occ tag) in input order
    step = "layers"
    try:
        for layer, z0 in zip(geo.layers, z_bottoms):
            step = f"layer {layer.name}"
            pieces.append((layer.name, occ.addRectangle(0, z0, 0, geo.radius, layer.thickness)))
        for layer, z0 in zip(geo.layers, z_bottoms):
            if layer.filament is None:
                continue
            step = f"filament {layer.name}_filament"
            points = [occ.addPoint(r, z, 0) for r, z in filament_outline(layer, z0)]
            lines = [occ.addLine(points[i], points[(i + 1) % 4]) for i in range(4)]
            loop = occ.addCurveLoop(lines)
            pieces.append((f"{layer.name}_filament", occ.addPlaneSurface([loop])))
        layer_index = {layer.name: i for i, layer in enumerate(geo.layers)}
        for name, probe in config.probes.items():
            step = f"probe {name}"
            z0 = z_bottoms[layer_index[probe.layer]]
            pieces.append((f"probe:{name}", occ.addRectangle(
                probe.r_min, z0 + probe.z_min, 0, probe.r_max - probe.r_min, probe.z_max - probe.z_min)))
        step = "fragmenting the stack"
        if len(pieces) > 1:  # OCC refuses to fragment a single shape
            _, fragment_map = occ.fragment([(2, tag) for _, tag in pieces], [])
        else:
            fragment_map = [[(2, pieces[0][1])]]
        occ.synchronize()
    except Exception as err:  # gmsh raises plain Exception with its own message
        raise InputError(f"gmsh failed while building {step}: {err}") from None

    # Which surfaces make each region: a filament owns its pieces; a layer owns the rest of its own.
    owned: dict[str, set[int]] = {}
    for (what, _), outputs in zip(pieces, fragment_map):
        if not what.startswith("probe:"):
            owned[what] = {tag for dim, tag in outputs if dim == 2}
    regions = regions_of(config)
    for region in regions:
        if region.is_filament:
            owned[geo.layers[region.layer_index].name] -= owned[region.name]
    for region in regions:
        if not owned[region.name]:
            raise InputError(f"geometry: region {region.name} is empty after fragmenting")

    model = CellModel(regions)
    surface_region = {tag: region.name for region in regions for tag in owned[region.name]}
    for tag_number, region in enumerate(regions, start=1):
        gmsh.model.addPhysicalGroup(2, sorted(owned[region.name]), tag_number)
        gmsh.model.setPhysicalName(2, tag_number, region.name)
        model.cell_tags[region.name] = tag_number

    facet_groups = _classify_curves(gmsh, config, surface_region, regions)
    ordered = [n for n in BOUNDARY_NAMES if n in facet_groups]
    ordered += sorted((n for n in facet_groups if n not in BOUNDARY_NAMES),
                      key=lambda n: (facet_groups[n][0], n))
    for tag_number, name in enumerate(ordered, start=1):
        gmsh.model.addPhysicalGroup(1, sorted(facet_groups[name][1]), tag_number)
        gmsh.model.setPhysicalName(1, tag_number, name)
        model.facet_tags[name] = tag_number

    _size_fields(gmsh, config, [tag for r in regions if r.is_filament for tag in owned[r.name]])
    return model


def _classify_curves(gmsh, config: Config, surface_region: dict[int, str], regions: list[Region]):
    """name -> (z for ordering, curve tags): boundaries by position, interfaces by neighbours."""
    geo = config.geometry
    tol = 1e-6 * max(geo.radius, geo.height)  # OCC pads bounding boxes by its tolerance
    layer_of = {r.name: r.layer_index for r in regions}
    filament_regions = {r.name for r in regions if r.is_filament}
    groups: dict[str, tuple[float, set[int]]] = {}

    def add(name: str, z: float, tag: int) -> None:
        z_min, tags = groups.get(name, (z, set()))
        tags.add(tag)
        groups[name] = (min(z_min, z), tags)

    for _, curve in gmsh.model.getEntities(1):
        r0, z0, _, r1, z1, _ = gmsh.model.getBoundingBox(1, curve)
        upward, _ = gmsh.model.getAdjacencies(1, curve)
        names = [surface_region[s] for s in upward if s in surface_region]
        z_mid = 0.5 * (z0 + z1)
        if len(names) == 1:
            if abs(r1) < tol:
                add("axis", z_mid, curve)
            elif abs(r0 - geo.radius) < tol and abs(r1 - geo.radius) < tol:
                add("outer", z_mid, curve)
            elif abs(z1) < tol:
                add("bottom", z_mid, curve)
            elif abs(z0 - geo.height) < tol:
                add("top", z_mid, curve)
            else:
                raise FilathermError(f"geometry: boundary curve {curve} at r={r0}..{r1}, z={z0}..{z1} "
                                     "is on no outer boundary")
            continue
        if len(names) != 2 or names[0] == names[1]:
            continue  # a probe cut inside one region: not an interface
        a, b = names
        horizontal = abs(z1 - z0) < tol
        same_layer = layer_of[a] == layer_of[b]
        if same_layer and (a in filament_regions) != (b in filament_regions):
            filament = a if a in filament_regions else b
            add(f"{filament}_{'top' if horizontal else 'wall'}", z_mid, curve)
        elif horizontal:
            lower, upper = (a, b) if layer_of[a] < layer_of[b] else (b, a)
            add(f"{lower}__{upper}", z_mid, curve)
        else:
            raise FilathermError(f"geometry: unexpected interface between {a} and {b}")
    return groups


def _size_fields(gmsh, config: Config, filament_surfaces: list[int]) -> None:
    """`filament_size` in and around the filaments, grading to `size` over `refine_distance`."""
    mesh = config.mesh
    field_api = gmsh.model.mesh.field
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", mesh.size)
    if not filament_surfaces:
        gmsh.option.setNumber("Mesh.MeshSizeMin", mesh.size)
        return
    curves = sorted({abs(c) for s in filament_surfaces
                     for _, c in gmsh.model.getBoundary([(2, s)], oriented=False)})
    distance = field_api.add("Distance")
    field_api.setNumbers(distance, "CurvesList", curves)
    field_api.setNumber(distance, "NumPointsPerCurve", 200)
    threshold = field_api.add("Threshold")
    field_api.setNumber(threshold, "InField", distance)
    field_api.setNumber(threshold, "SizeMin", mesh.filament_size)
    field_api.setNumber(threshold, "SizeMax", mesh.size)
    field_api.setNumber(threshold, "DistMin", 0.0)
    field_api.setNumber(threshold, "DistMax", mesh.refine_distance)
    fields = [threshold]
    for surface in filament_surfaces:  # the filament's inside is fine too, not only its outline
        r0, z0, _, r1, z1, _ = gmsh.model.getBoundingBox(2, surface)
        box = field_api.add("Box")
        for key, value in (("VIn", mesh.filament_size), ("VOut", mesh.size), ("XMin", r0),
                           ("XMax", r1), ("YMin", z0), ("YMax", z1), ("ZMin", -1), ("ZMax", 1),
                           ("Thickness", mesh.refine_distance)):
            field_api.setNumber(box, key, value)
        fields.append(box)
    smallest = field_api.add("Min")
    field_api.setNumbers(smallest, "FieldsList", fields)
    field_api.setAsBackgroundMesh(smallest)


def generate(config: Config, gmsh) -> CellModel:
    """Build the model and mesh it (2D, optionally second order); a mesh estimated beyond
    solver.limits.MAX_CELLS is refused before gmsh starts."""
    check_mesh_size(config)
    model = build_cell_model(config, gmsh)
    try:
        gmsh.model.mesh.generate(2)
        if config.mesh.order == 2:
            gmsh.model.mesh.setOrder(2)
    except Exception as err:
        raise FilathermError(f"gmsh failed while meshing: {err}") from None
    return model


def triangles_by_region(gmsh, model: CellModel):
    """(points (n, 2), triangles (m, 3), region index (m,)) of the meshed model, for plots."""
    node_tags, coords, _ = gmsh.model.mesh.getNodes()
    points = coords.reshape(-1, 3)[:, :2]
    index_of = {int(tag): i for i, tag in enumerate(node_tags)}
    triangles, region_index = [], []
    for k, region in enumerate(model.regions):
        for surface in gmsh.model.getEntitiesForPhysicalGroup(2, model.cell_tags[region.name]):
            types, _, nodes = gmsh.model.mesh.getElements(2, surface)
            for element_type, element_nodes in zip(types, nodes):
                per = gmsh.model.mesh.getElementProperties(element_type)[3]
                corners = element_nodes.reshape(-1, per)[:, :3]
                triangles.append(np.vectorize(index_of.__getitem__)(corners))
                region_index.append(np.full(len(corners), k))
    return points, np.concatenate(triangles), np.concatenate(region_index)
