"""An N x M crossbar tile (geometry.kind: tile) of the layer stack, in 3D.

    z:  substrate (fill)       -substrate .. 0
        word lines             layer 0: one line per row i, along x, centred at y = i pitch
        cell stack             layers 1 .. n-2: a line_width x line_width pillar at every
                               crossing (x = j pitch, y = i pitch), its filament at the pillar's
                               centre + geometry.filament_position
        bit lines              layer n-1: one line per column j, along y, centred at x = j pitch
        cap (fill)             above
    The fill material (geometry.tile.fill) surrounds lines and pillars; the tile extends
    `margin` beyond the outermost lines on every side.

Names:
  cells:    `substrate`, `fill`, `cap`, `<layer>` (the word lines, pillars and bit lines of
            that layer), `<layer>_filament`;
  surfaces: `bottom` (the substrate's bottom), `top` (the cap's top), `row<i>` (word line i's
            end at x_min), `col<j>` (bit line j's end at y_min), `outer` (the rest of the
            sides, including the far line ends); interfaces as in solver.geometry.solid.
  probes:   every configured probe once per cell, `<probe>_r<i>_c<j>`, about that cell's
            filament axis.
Line ends are the tile's electrical terminals (electrical.row1: {voltage: V}, ...).
"""

from __future__ import annotations

from solver.config.schema import Config
from solver.geometry.cell import CellModel, Region
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


def cell_name(probe: str, row: int, col: int) -> str:
    """The probe `probe` of cell (row, col)."""
    return f"{probe}_r{row}_c{col}"


def regions(config: Config) -> list[Region]:
    """Model order, which also orders interface names (`<lower>__<upper>`)."""
    geo = config.geometry
    fill = geo.tile.fill
    out = [Region("substrate", -1, fill, False)]
    for i, layer in enumerate(geo.layers):
        out.append(Region(layer.name, i, layer.material, False))
        if layer.filament is not None:
            out.append(Region(f"{layer.name}_filament", i, layer.filament.material, True))
    out += [Region("cap", len(geo.layers), fill, False), Region("fill", len(geo.layers) + 1, fill, False)]
    return out


def filaments(config: Config) -> list[tuple[str, int, int, Cylinder]]:
    """(filament region, row, col, shape) of every cell."""
    geo = config.geometry
    dx, dy = geo.filament_position
    out = []
    for layer, z0 in zip(geo.layers, geo.z_bottoms()):
        if layer.filament is None:
            continue
        for i, j, x, y in geo.tile.centres():
            out.append((f"{layer.name}_filament", i, j, filament_cylinder(layer, z0, x + dx, y + dy)))
    return out


def probes(config: Config) -> list[ProbeCylinder]:
    geo = config.geometry
    dx, dy = geo.filament_position
    bottoms = dict(zip((layer.name for layer in geo.layers), geo.z_bottoms()))
    return [probe_cylinder(probe, bottoms[probe.layer], x + dx, y + dy, cell_name(name, i, j))
            for name, probe in config.probes.items() for i, j, x, y in geo.tile.centres()]


def pillar_boxes(config: Config) -> list[tuple[int, int, tuple[float, ...]]]:
    """(row, col, (x0, x1, y0, y1, z0, z1)) of every cell's pillar (the layers between the
    lines), config units."""
    geo = config.geometry
    half = geo.tile.line_width / 2
    z0 = geo.z_bottoms()[1]
    z1 = geo.z_bottoms()[-1]
    return [(i, j, (x - half, x + half, y - half, y + half, z0, z1)) for i, j, x, y in geo.tile.centres()]


def generate(config: Config, gmsh) -> CellModel:
    """Build the tile, name its groups, grade and mesh it (the caller owns gmsh); a mesh
    estimated beyond solver.limits.MAX_CELLS is refused before gmsh starts."""
    geo = config.geometry
    tile = geo.tile
    x0, x1, y0, y1 = tile.extent()
    refined = [shape for _, _, _, shape in filaments(config)] + [probe.shape for probe in probes(config)]
    volume = (x1 - x0) * (y1 - y0) * (geo.height + tile.substrate + tile.cap)
    check_solid_mesh_size(config, volume, refinement_boxes(refined))
    occ = gmsh.model.occ
    half = tile.line_width / 2
    bottoms = geo.z_bottoms()
    first, last = geo.layers[0], geo.layers[-1]

    def box(xa, xb, ya, yb, za, zb) -> int:
        return occ.addBox(xa, ya, za, xb - xa, yb - ya, zb - za)

    # increasing priority: fill slabs, then lines and pillars, then filaments
    pieces = [("substrate", box(x0, x1, y0, y1, -tile.substrate, 0.0)),
              ("cap", box(x0, x1, y0, y1, geo.height, geo.height + tile.cap))]
    pieces += [("fill", box(x0, x1, y0, y1, z, z + layer.thickness)) for layer, z in zip(geo.layers, bottoms)]
    pieces += [(first.name, box(x0, x1, i * tile.pitch - half, i * tile.pitch + half, 0.0, first.thickness))
               for i in range(tile.rows)]
    pieces += [(last.name, box(j * tile.pitch - half, j * tile.pitch + half, y0, y1, bottoms[-1], geo.height))
               for j in range(tile.cols)]
    for layer, z in zip(geo.layers[1:-1], bottoms[1:-1]):
        pieces += [(layer.name, box(x - half, x + half, y - half, y + half, z, z + layer.thickness))
                   for _, _, x, y in tile.centres()]
    pieces += [(name, add_cylinder(occ, shape)) for name, _, _, shape in filaments(config)]
    pieces += [(PROBE + probe.name, add_cylinder(occ, probe.shape)) for probe in probes(config)]
    owner = fragment(gmsh, pieces)
    model = CellModel(regions(config))
    tol = 1e-6 * max(geo.scale_lengths())

    def boundary_name(bounds: tuple, region: str) -> str:
        bx0, by0, bz0, bx1, by1, bz1 = bounds
        if abs(bz1 + tile.substrate) < tol:
            return "bottom"
        if abs(bz0 - geo.height - tile.cap) < tol:
            return "top"
        if region == first.name and abs(bx1 - x0) < tol:
            return f"row{round(0.5 * (by0 + by1) / tile.pitch)}"
        if region == last.name and abs(by1 - y0) < tol:
            return f"col{round(0.5 * (bx0 + bx1) / tile.pitch)}"
        return "outer"

    name_groups(gmsh, model, owner, boundary_name, ("bottom", "top", "outer") + tile.line_names())
    mesh = config.mesh
    graded_sizes(gmsh, refined, mesh.size, mesh.filament_size, mesh.refine_distance)
    mesh_3d(gmsh, mesh.order)
    return model
