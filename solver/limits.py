"""Estimates made from the config alone, before anything is built: how many cells the mesh
will have and how many points the sweep plan holds. Beyond a limit the work is refused with
one line naming the estimate, instead of gmsh running out of memory (`mesh.filament_size:
1e-6` asks for ~1e14 triangles) or the plan expansion taking minutes and gigabytes (a
`sweep.parameters` product of 2.7e12 points). `--allow-large` (the environment variable
FILATHERM_ALLOW_LARGE=1, which child processes inherit) lifts both limits.

Mesh estimate: the size field of solver.geometry.cell is `filament_size` on and in each
filament, growing linearly with the distance d from it to `size` at `refine_distance`. A
region within distance s of a filament of width w (on the axis) and height t has area
A(s) = w t + (2 w + t) s + pi s^2 / 2 (clipped to the cell), and a triangle of size h covers
sqrt(3)/4 h^2, so cells ~ integral of dA / (sqrt(3)/4 h(s)^2). It is within a factor of about
two of what gmsh makes (tests/test_hostile_inputs.py compares it on two meshes).

3D kinds (solver.geometry.solid): `filament_size` inside the bounding box of each filament and
probe, growing linearly to `size` at `refine_distance` from it (gmsh Box fields). The boxes
about one axis are taken as one box of sides a, b, c; the region within s of it has volume
(a + 2s)(b + 2s)(c + 2s), clipped to the axis' share of the model (its volume over the number
of axes: neighbouring cells of a tile do not count the space between them twice), and gmsh
makes about TETRAHEDRA / h^3 tetrahedra per unit volume at size h (measured on cell3d and tile
meshes, tests/test_three_d.py).
"""

from __future__ import annotations

import math
import os

import numpy as np

from solver.errors import InputError

MAX_CELLS = 2_000_000     # a 2D mesh beyond this needs many GB for its LU factorisation
MAX_POINTS = 10_000_000   # sweep points (rows of one store)
TRIANGLE = math.sqrt(3.0) / 4.0
TETRAHEDRA = 6.0  # per h^3 (gmsh's Delaunay at size h)


def large_allowed() -> bool:
    return os.environ.get("FILATHERM_ALLOW_LARGE") == "1"


def allow_large() -> None:
    """Lift the limits for this process and its children (`--allow-large`)."""
    os.environ["FILATHERM_ALLOW_LARGE"] = "1"


def estimated_cells(config) -> float:
    """Triangles gmsh will make for the config's cell (see the module docstring)."""
    mesh = config.mesh
    geometry = config.geometry
    area = geometry.radius * geometry.height
    h_min, h_max, spread = mesh.filament_size, mesh.size, mesh.refine_distance
    filaments = [(layer.filament, layer.thickness) for layer in geometry.layers if layer.filament is not None]
    if not filaments:
        return area / (TRIANGLE * h_max**2)
    cells, covered = 0.0, 0.0
    distances = np.linspace(0.0, spread, 2001)
    h = h_min + (h_max - h_min) * distances / spread
    for filament, thickness in filaments:
        width = max(filament.radius, filament.top_radius or 0.0)
        height = filament.height or thickness
        core = width * height
        grown = np.minimum(core + (2 * width + height) * distances + math.pi * distances**2 / 2, area)
        band = np.diff(grown)
        cells += core / (TRIANGLE * h_min**2) + float(np.sum(band / (TRIANGLE * (0.5 * (h[1:] + h[:-1]))**2)))
        covered += grown[-1]
    return cells + max(area - covered, 0.0) / (TRIANGLE * h_max**2)


def check_mesh_size(config) -> None:
    """Refuse a mesh beyond MAX_CELLS (unless --allow-large), naming the estimate."""
    cells = estimated_cells(config)
    if cells > MAX_CELLS and not large_allowed():
        raise InputError(f"mesh: about {cells:.2g} cells from mesh.size {config.mesh.size:g} and "
                         f"mesh.filament_size {config.mesh.filament_size:g} {config.units} (the limit is "
                         f"{MAX_CELLS:.0e}; pass --allow-large to mesh it anyway)")


def estimated_tetrahedra(config, volume: float, boxes: list[tuple[float, ...]]) -> float:
    """Tetrahedra gmsh will make for a 3D model of `volume` refined about `boxes`
    ((x0, x1, y0, y1, z0, z1), config units; see the module docstring)."""
    mesh = config.mesh
    h_min, h_max, spread = mesh.filament_size, mesh.size, mesh.refine_distance
    if not boxes:
        return volume * TETRAHEDRA / h_max**3
    axes: dict[tuple[float, float], list[float]] = {}
    for x0, x1, y0, y1, z0, z1 in boxes:  # the boxes about one axis as one
        key = (round(0.5 * (x0 + x1), 9), round(0.5 * (y0 + y1), 9))
        old = axes.get(key, [x0, x1, y0, y1, z0, z1])
        axes[key] = [min(old[0], x0), max(old[1], x1), min(old[2], y0), max(old[3], y1),
                     min(old[4], z0), max(old[5], z1)]
    share = volume / len(axes)
    distances = np.linspace(0.0, spread, 2001)
    h = h_min + (h_max - h_min) * distances / spread
    cells, covered = 0.0, 0.0
    for x0, x1, y0, y1, z0, z1 in axes.values():
        a, b, c = x1 - x0, y1 - y0, z1 - z0
        grown = np.minimum((a + 2 * distances) * (b + 2 * distances) * (c + 2 * distances), share)
        cells += grown[0] * TETRAHEDRA / h_min**3
        cells += float(np.sum(np.diff(grown) * TETRAHEDRA / (0.5 * (h[1:] + h[:-1]))**3))
        covered += grown[-1]
    return cells + max(volume - covered, 0.0) * TETRAHEDRA / h_max**3


def check_solid_mesh_size(config, volume: float, boxes: list[tuple[float, ...]]) -> None:
    """Refuse a 3D mesh beyond MAX_CELLS (unless --allow-large), naming the estimate."""
    cells = estimated_tetrahedra(config, volume, boxes)
    if cells > MAX_CELLS and not large_allowed():
        raise InputError(f"mesh: about {cells:.2g} tetrahedra from mesh.size {config.mesh.size:g}, "
                         f"mesh.filament_size {config.mesh.filament_size:g} and mesh.refine_distance "
                         f"{config.mesh.refine_distance:g} {config.units} (the limit is {MAX_CELLS:.0e}; pass "
                         "--allow-large to mesh it anyway)")


def plan_points(config) -> int:
    """Points of the sweep plan, counted without expanding it."""
    plan = config.sweep.voltage
    drives = 1 if plan is None else (plan.num if hasattr(plan, "num") else len(plan.values))
    lengths = [len(values) for values in config.sweep.parameters.values()]
    if not lengths:
        return drives
    combos = min(lengths) if config.sweep.combine == "zip" else math.prod(lengths)
    return drives * combos


def check_plan_size(config) -> None:
    """Refuse a sweep plan beyond MAX_POINTS (unless --allow-large), naming the count."""
    points = plan_points(config)
    if points > MAX_POINTS and not large_allowed():
        raise InputError(f"sweep: {points:.3g} points planned (sweep.voltage x sweep.parameters; the limit is "
                         f"{MAX_POINTS:.0e}; pass --allow-large to run it anyway)")
